#include "service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace waygate::service {

namespace {

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

// A STATUS line ends at the first newline: the protocol is one assignment per line.
std::string status_line(std::string_view text) {
  return "STATUS=" + std::string(text.substr(0, text.find('\n')));
}

}  // namespace

void ready(std::string_view text) { notify("READY=1\n" + status_line(text)); }
void reloading() { notify("RELOADING=1\nSTATUS=reloading"); }
void stopping() { notify("STOPPING=1\nSTATUS=stopping"); }
void status(std::string_view text) { notify(status_line(text)); }

std::chrono::microseconds watchdog_interval() {
  std::uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? std::chrono::microseconds(usec) : std::chrono::microseconds(0);
}

void watchdog() { notify("WATCHDOG=1"); }

}  // namespace waygate::service
