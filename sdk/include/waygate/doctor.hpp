// `waygate doctor -c FILE`: a connector's (or a client's) troubleshooting list, checked by a
// command, each check passing or failing with what to do about it. The host checks what is
// everyone's (the file reads, the admin API answers) and then asks each stage's plugin, in the
// pipeline's order, for the checks only it knows how to make: the tunnel its port and its
// packets, the egress edge its nftables table, a third-party stage whatever it needs. A plugin
// offers them by exporting a function, once per plugin:
//
//   std::vector<waygate::Check> my_checks(const waygate::Patient& p) { ... }
//   WAYGATE_DOCTOR(my_checks)
//
// The function runs in the command's process, not the connector's: it reads the system and asks
// the running connector through its admin API (waygate/admin_client.hpp), and may take a while
// (up to `wait` seconds to watch a counter move).
#pragma once

#include <string>
#include <vector>

#include <boost/dll/alias.hpp>

#include "waygate/abi.hpp"
#include "waygate/config.hpp"
#include "waygate/directory.hpp"

namespace waygate {

struct Check {
  std::string name;
  bool ok = false;
  std::string detail;    // what was found
  std::string hint;      // what to do, when it fails (or warns)
  bool warning = false;  // passes, but deserves a look: printed "warn", with its hint
};

// What a plugin's checks look at.
struct Patient {
  const Config& stage;          // the stage's table, as the plugin's configure() reads it
  const Directory& directory;   // the file's identities, sockets and policies
  std::string file;             // the config file, for hints that name it
  std::string admin, token;     // the running process's admin API and its token
  bool running = false;         // the admin API answers
  double wait = 2;              // seconds a check that watches counters may take
};

using Checkup = std::vector<Check> (*)(const Patient& patient);

// What a plugin exports under "waygate_doctor".
struct DoctorTable {
  std::uint32_t abi;
  Checkup checks;
};

}  // namespace waygate

#define WAYGATE_DOCTOR(Function)                                                              \
  extern "C" const ::waygate::DoctorTable waygate_doctor_table{::waygate::kAbiVersion, &Function}; \
  BOOST_DLL_ALIAS(waygate_doctor_table, waygate_doctor)
