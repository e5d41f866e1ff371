// Binding a stage's own port. A predecessor killed a moment ago (a crash, then a restart by the
// supervisor or by an operator) may still hold it: the kernel closes the sockets its io_uring
// held only once it has torn the ring down, a little after the process is gone. So a port in use
// is asked for again for a short while before it counts as taken.
#pragma once

#include <sys/socket.h>

namespace waygate::net {

// 0 once bound; otherwise the errno of the last try (EADDRINUSE if someone still holds it after
// about two seconds).
int bind_port(int fd, const sockaddr* address, socklen_t length);

}  // namespace waygate::net
