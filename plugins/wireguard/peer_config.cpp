#include "peer_config.hpp"

#include <unistd.h>


#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <qrencode.h>

#include "waygate/verdict.hpp"
#include "keys.hpp"
#include "waygate/config.hpp"
#include "waygate/directory.hpp"

namespace waygate::wg {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Two rows of modules per line with half blocks, inverted (dark modules as spaces) so it reads on
// a dark terminal; a quiet zone of 2 modules around it.
void print_qr(const std::string& text) {
  QRcode* qr = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_L, QR_MODE_8, 1);
  if (qr == nullptr) {
    fmt::print(stderr, "peer config: the configuration does not fit a QR code\n");
    return;
  }
  const int n = qr->width, quiet = 2;
  auto dark = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < n && y < n && (qr->data[y * n + x] & 1) != 0;
  };
  for (int y = -quiet; y < n + quiet; y += 2) {
    std::string line;
    for (int x = -quiet; x < n + quiet; ++x) {
      bool top = !dark(x, y), bottom = !dark(x, y + 1);
      line += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
    }
    fmt::print("{}\n", line);
  }
  QRcode_free(qr);
}

struct WireGuardStage {
  std::string private_key_file;
  std::string public_endpoint;
};

// The connector's wireguard stage that serves the directory's identities.
WireGuardStage wireguard_stage(const Config& root) {
  for (const Config& stage : root.tables("stage")) {
    if (stage.string("plugin", "") != "wireguard" || !stage.boolean("identities", false)) continue;
    return {stage.string("private_key_file"), stage.string("public_endpoint", "")};
  }
  throw std::runtime_error("no wireguard stage with identities = true: clients have nothing to connect to");
}

}  // namespace

std::string wg_quick_text(const PeerConfig& p) {
  std::string out = "# " + p.comment + "\n[Interface]\n";
  out += "PrivateKey = " + (p.private_key.empty() ? "<your private key: wg genkey>" : p.private_key) + "\n";
  out += "Address = " + join(p.addresses) + "\n";
  if (!p.dns.empty()) out += "DNS = " + join(p.dns) + "\n";
  out += "\n[Peer]\n";
  out += "PublicKey = " + p.connector_public_key + "\n";
  out += "Endpoint = " + p.endpoint + "\n";
  out += "AllowedIPs = 0.0.0.0/0, ::/0\n";
  out += "PersistentKeepalive = 25\n";
  return out;
}

int peer_command(int argc, char** argv) {
  CLI::App app{"Configurations for stock WireGuard clients", "peer"};
  app.require_subcommand(1);
  auto* config_cmd = app.add_subcommand("config", "Print the wg-quick configuration of an identity for an exit node");
  std::string name, socket, file, key_file;
  bool qr = false, no_qr = false;
  config_cmd->add_option("identity", name, "The identity's name")->required();
  config_cmd->add_option("--exit-node", socket, "The exit node socket")->required();
  config_cmd->add_option("-c,--config", file, "The connector's config file")->required();
  config_cmd->add_option("--private-key-file", key_file, "Fill in the client's private key from this file");
  config_cmd->add_flag("--qr", qr, "Also print a QR code (the default on a terminal)");
  config_cmd->add_flag("--no-qr", no_qr, "Never print a QR code");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    Config root = Config::parse_file(file);
    auto d = Directory::from_file(file);
    std::uint32_t i = d->identity_by_name(name), s = d->socket_by_name(socket);
    if (i == kNoId) throw std::runtime_error("no identity is named '" + name + "'");
    if (s == kNoId || d->sockets[s].type != SocketType::exit_node)
      throw std::runtime_error("no exit node is named '" + socket + "'");
    Situation anywhere;
    anywhere.who_only = true;  // where and when are for the moment of use
    Verdict v = evaluate(*d, i, s, anywhere);
    if (!v.granted) {
      fmt::print(stderr, "{} may not use {}: {}\n", name, socket, v.explain(*d, s));
      return 3;
    }
    WireGuardStage stage = wireguard_stage(root);
    if (stage.public_endpoint.empty())
      throw std::runtime_error("the wireguard stage has no public_endpoint (the host:port clients dial)");
    Key connector_private = read_key_file(stage.private_key_file);
    PeerConfig p;
    p.comment = fmt::format("{} on {}{}", name, socket,
                            d->sockets[s].description.empty() ? "" : " (" + d->sockets[s].description + ")");
    if (!key_file.empty()) {
      Key mine = read_key_file(key_file);
      if (to_base64(public_key(mine)) != d->identities[i].public_key)
        throw std::runtime_error(key_file + " is not the private key of identity '" + name + "'");
      p.private_key = to_base64(mine);
      wipe(mine);
    }
    for (auto& a : d->identities[i].addresses) p.addresses.push_back(a.to_string() + (a.is_v4() ? "/32" : "/128"));
    for (auto& a : d->sockets[s].dns) p.dns.push_back(a.to_string());
    p.connector_public_key = to_base64(public_key(connector_private));
    wipe(connector_private);
    p.endpoint = stage.public_endpoint;
    std::string text = wg_quick_text(p);
    fmt::print("{}", text);
    if (!no_qr && (qr || ::isatty(STDOUT_FILENO))) print_qr(text);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "peer config: {}\n", e.what());
    return 1;
  }
}

}  // namespace waygate::wg
