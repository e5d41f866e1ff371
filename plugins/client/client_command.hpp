// `waygate client ... -c CLIENT.toml`, run beside a client host (`waygate run -c CLIENT.toml`):
//   exit-nodes        the exit nodes this identity may use, from every connector in the file
//   use NAME          select one (told to its connector), and install its routes, the bypass and
//                     the resolver; --lockdown also lets nothing leave outside the tunnel
//   off               clear it: remove exactly what `use` installed, and tell the connector
//   status            the tunnel to each connector, the exit node in use, traffic
//   doctor            the exit node's troubleshooting list, checked from the client's side
#pragma once

namespace waygate::client {

int client_command(int argc, char** argv);

}  // namespace waygate::client
