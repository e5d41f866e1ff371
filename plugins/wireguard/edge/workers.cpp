// More than one worker ([host] workers): each owns the peers whose public key names it (their
// sessions, timers and the handshakes we initiate) and hands what reaches it for another's over
// (Context::hand_over). The kernel steers nearly every datagram to its owner in the first place:
// the workers' sockets on the port form one SO_REUSEPORT group, joined in worker order, whose
// classic BPF program picks the socket by the receiver index a message names, an index whose low
// byte its owner chose to name itself (new_index). An initiation names no index of ours: it
// reaches any worker, which learns its peer from the handshake's first half and hands it over.
// Packets from the pipeline for another's peer (a TUN queue the kernel chose) are handed over too.
#include <linux/filter.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "device.hpp"

namespace waygate::wg {

unsigned Device::worker_of(const Peer& p) const {
  std::uint32_t h = 0;
  std::memcpy(&h, p.settings.public_key.data(), sizeof h);  // a curve point's bytes: evenly spread
  return h % workers_;
}

unsigned Device::worker_of_index(std::uint32_t index) const { return (index & 0xffu) % workers_; }

std::uint32_t Device::named_for_us(std::uint32_t random) const {
  const std::uint32_t low = (random & 0xffu) % (256 / workers_) * workers_ + ctx_.worker();
  return (random & ~0xffu) | low;
}

void Device::steer(int fd) {
  // The program sees the UDP payload. A = the message's type; a response's receiver index is at
  // byte 8, a transport message's and a cookie reply's at byte 4 (where an initiation carries
  // the sender's own index: any worker); its first byte (little-endian: the low one) mod workers.
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 2),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 8),
      BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 4),
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, workers_),
      BPF_STMT(BPF_RET | BPF_A, 0),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(code)), code};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program) != 0)
    throw std::system_error(errno, std::generic_category(), "wireguard: steer the port's datagrams to their workers");
}

bool Device::hand_to_owner(unsigned worker, Packet* p, Handed what, Output& out) {
  if (worker == ctx_.worker()) return false;
  if (ctx_.hand_over(worker, p, static_cast<std::uint32_t>(what))) handed_over_.add();
  else out.drop(p, handover_full_);
  return true;
}

void Device::handed(Packet* p, std::uint32_t what, Output& out) {
  if (what == static_cast<std::uint32_t>(Handed::datagram)) {
    receive(p, out);
    return;
  }
  if (handed_sends_.full()) send_handed(out);
  handed_sends_.push(p);
}

}  // namespace waygate::wg
