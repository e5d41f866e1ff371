// The portal's new exit node (POST /v1/sockets) on a connector whose directory is in etcd: the
// socket is written there, as `waygate directory push` would write it, and every connector takes
// it in through its watch.
#pragma once

#include <string_view>

#include "host_config.hpp"
#include "waygate/api.hpp"

namespace waygate {

// Checks the directory in etcd with the new socket added exactly as a connector would (an error
// names the key: 400, nothing written), then puts PREFIX directory/socket/NAME in one transaction
// taken only if the directory is still the one read (else 409: read again). 201 with the socket.
Response create_socket_in_etcd(const EtcdDirectory& where, std::string_view body);

}  // namespace waygate
