#include "uring_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <system_error>

namespace waygate {

namespace {
constexpr std::uint64_t kWakeData = ~std::uint64_t{0};
constexpr std::uint64_t kCancelData = ~std::uint64_t{0} - 1;
constexpr std::uint16_t kBufferGroup = 0;
// IORING_OP_READ_MULTISHOT (Linux 6.7) follows IORING_OP_SENDMSG_ZC, the newest opcode Debian's
// liburing 2.3 names; probed at start, never used where the kernel lacks it.
constexpr std::uint8_t kOpReadMultishot = IORING_OP_SENDMSG_ZC + 1;
}  // namespace

class UringLoop::StageIo final : public Io {
 public:
  StageIo(UringLoop& loop, std::uint32_t owner) : loop_(loop), owner_(owner) {}
  void read(int fd, Packet* p, std::uint64_t tag) override { loop_.queue(owner_, fd, p, tag, Kind::read); }
  void write(int fd, Packet* p, std::uint64_t tag) override { loop_.queue(owner_, fd, p, tag, Kind::write); }
  void receive(int fd, Packet* p, std::uint64_t tag) override { loop_.queue(owner_, fd, p, tag, Kind::receive); }
  void send(int fd, Packet* p, std::uint64_t tag) override { loop_.queue(owner_, fd, p, tag, Kind::send); }
  void read_many(int fd, std::uint64_t tag) override { loop_.stream(owner_, fd, tag, false); }
  void receive_many(int fd, std::uint64_t tag) override { loop_.stream(owner_, fd, tag, true); }
  void cancel(int fd) override { loop_.cancel(fd); }

 private:
  UringLoop& loop_;
  std::uint32_t owner_;
};

UringLoop::UringLoop(Pool& pool, unsigned entries, unsigned max_ops, bool multishot) : pool_(pool), ops_(max_ops) {
  io_uring_params params{};
  // The kernel does the submission work in the syscall we make anyway; a single issuer lets it
  // skip locking.
  params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  int rc = io_uring_queue_init_params(entries, &ring_, &params);
  if (rc == -EINVAL) {  // an older kernel without those flags
    params = {};
    rc = io_uring_queue_init_params(entries, &ring_, &params);
  }
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    io_uring_queue_exit(&ring_);
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  free_ops_.reserve(max_ops);
  for (unsigned i = max_ops; i-- > 0;) free_ops_.push_back(i);
  deferred_.reserve(max_ops);
  rearm_.reserve(max_ops);

  // The provided-buffer ring: a quarter of the pool at most, buffers named by their pool index.
  if (multishot && pool.capacity() <= 65536) {
    ring_entries_ = std::bit_floor(std::clamp<unsigned>(static_cast<unsigned>(pool.capacity() / 4), 1, 4096));
    void* memory = nullptr;
    std::size_t bytes = ring_entries_ * sizeof(io_uring_buf);
    if (::posix_memalign(&memory, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), bytes) == 0) {
      buffers_ = static_cast<io_uring_buf_ring*>(memory);
      io_uring_buf_ring_init(buffers_);
      io_uring_buf_reg reg{};
      reg.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
      reg.ring_entries = ring_entries_;
      reg.bgid = kBufferGroup;
      if (io_uring_register_buf_ring(&ring_, &reg, 0) != 0) {
        std::free(memory);
        buffers_ = nullptr;
      }
    }
    if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
      read_multishot_ = io_uring_opcode_supported(probe, kOpReadMultishot) != 0;
      io_uring_free_probe(probe);
    }
  }
  arm_wake();
}

UringLoop::~UringLoop() {
  io_uring_queue_exit(&ring_);  // the kernel cancels whatever is still in flight
  std::free(buffers_);
  ::close(wake_fd_);
}

Io& UringLoop::io(std::uint32_t owner) {
  ios_.push_back(std::make_unique<StageIo>(*this, owner));
  return *ios_.back();
}

Time UringLoop::clock() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

io_uring_sqe* UringLoop::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (s == nullptr) {  // the submission queue is full: hand it to the kernel and go on
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

void UringLoop::arm_wake() {
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, wake_fd_, &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(s, kWakeData);
}

void UringLoop::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

std::optional<std::uint32_t> UringLoop::new_op(std::uint32_t owner, int fd, std::uint64_t tag, Kind kind, Packet* p) {
  if (free_ops_.empty()) return std::nullopt;
  std::uint32_t id = free_ops_.back();
  free_ops_.pop_back();
  ops_[id] = Op{true, false, kind, owner, fd, tag, p, {}, {}};
  return id;
}

void UringLoop::queue(std::uint32_t owner, int fd, Packet* p, std::uint64_t tag, Kind kind) {
  auto id = new_op(owner, fd, tag, kind, p);
  if (!id) {
    deferred_.push_back({owner, Completion{tag, -ENOBUFS, p}});
    return;
  }
  submit(*id);
}

void UringLoop::stream(std::uint32_t owner, int fd, std::uint64_t tag, bool receive) {
  Kind many = receive ? Kind::receive_many : Kind::read_many;
  bool multishot = receive ? multishot_receive() : multishot_read();
  if (multishot) {
    if (auto id = new_op(owner, fd, tag, many, nullptr)) submit(*id);
    return;
  }
  for (unsigned i = 0; i < kFallbackDepth; ++i) {
    Packet* p = pool_.alloc();
    if (p == nullptr) return;
    queue(owner, fd, p, tag, receive ? Kind::receive_each : Kind::read_each);
  }
}

void UringLoop::submit(std::uint32_t id) {
  Op& op = ops_[id];
  io_uring_sqe* s = sqe();
  Packet* p = op.packet;
  switch (op.kind) {
    case Kind::read:
    case Kind::read_each: {
      auto room = p->writable();
      io_uring_prep_read(s, op.fd, room.data(), static_cast<unsigned>(room.size()), 0);
      break;
    }
    case Kind::write:
      io_uring_prep_write(s, op.fd, p->data(), static_cast<unsigned>(p->size()), 0);
      break;
    case Kind::receive:
    case Kind::receive_each: {
      auto room = p->writable();
      op.iov = {room.data(), room.size()};
      op.msg.msg_name = &p->endpoint.addr;
      op.msg.msg_namelen = sizeof p->endpoint.addr;
      op.msg.msg_iov = &op.iov;
      op.msg.msg_iovlen = 1;
      io_uring_prep_recvmsg(s, op.fd, &op.msg, 0);
      break;
    }
    case Kind::send:
      op.iov = {p->data(), p->size()};
      op.msg.msg_name = &p->endpoint.addr;
      op.msg.msg_namelen = p->endpoint.len;
      op.msg.msg_iov = &op.iov;
      op.msg.msg_iovlen = 1;
      io_uring_prep_sendmsg(s, op.fd, &op.msg, 0);
      break;
    case Kind::receive_many:
      // Only the name's size matters: each buffer starts with a header and the sender's address.
      op.msg = {};
      op.msg.msg_namelen = sizeof(Endpoint{}.addr);
      io_uring_prep_recvmsg_multishot(s, op.fd, &op.msg, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = kBufferGroup;
      break;
    case Kind::read_many:
      io_uring_prep_rw(kOpReadMultishot, s, op.fd, nullptr, 0, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = kBufferGroup;
      break;
  }
  io_uring_sqe_set_data64(s, id);
}

// Lends the kernel free pool buffers until the ring is full or the pool is empty.
void UringLoop::stock_ring() {
  if (buffers_ == nullptr) return;
  int mask = io_uring_buf_ring_mask(ring_entries_);
  int added = 0;
  while (in_ring_ < ring_entries_) {
    Packet* p = pool_.alloc();
    if (p == nullptr) break;
    auto room = p->writable();
    io_uring_buf_ring_add(buffers_, room.data(), static_cast<unsigned>(room.size()),
                          static_cast<unsigned short>(p->index()), mask, added++);
    ++in_ring_;
  }
  if (added > 0) io_uring_buf_ring_advance(buffers_, added);
}

void UringLoop::wait(Time deadline) {
  stock_ring();
  if (in_ring_ > 0) {
    for (std::uint32_t id : std::exchange(rearm_, {})) submit(id);
  }
  if (!deferred_.empty()) {  // work is already waiting: only submit
    io_uring_submit(&ring_);
    return;
  }
  if (deadline == Time::max()) {
    io_uring_submit_and_wait(&ring_, 1);
    return;
  }
  Time left = std::max(deadline - clock(), Time{0});
  __kernel_timespec ts{};
  ts.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(left).count();
  ts.tv_nsec = (left - std::chrono::seconds(ts.tv_sec)).count();
  io_uring_cqe* cqe = nullptr;
  io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
}

UringLoop::Delivery UringLoop::finish(std::uint32_t id, std::int32_t result) {
  Op& op = ops_[id];
  Delivery d{op.owner, Completion{op.tag, result, op.packet}, op.fd};
  bool reads = op.kind == Kind::read || op.kind == Kind::receive || op.kind == Kind::read_each ||
               op.kind == Kind::receive_each;
  if (result >= 0 && reads) op.packet->resize(static_cast<std::size_t>(result));
  if (op.kind == Kind::receive || op.kind == Kind::receive_each)
    op.packet->endpoint.len = result >= 0 ? op.msg.msg_namelen : 0;
  Kind kind = op.kind;
  bool again = (kind == Kind::read_each || kind == Kind::receive_each) && !op.cancelled && result != -ECANCELED;
  op = Op{};
  free_ops_.push_back(id);
  if (again) {  // the fallback stream goes on with a fresh buffer
    if (Packet* p = pool_.alloc()) queue(d.owner, d.fd, p, d.completion.tag, kind);
  }
  return d;
}

std::optional<UringLoop::Delivery> UringLoop::settle(const io_uring_cqe& cqe) {
  std::uint64_t data = io_uring_cqe_get_data64(&cqe);
  if (data == kCancelData) return std::nullopt;
  if (data == kWakeData) {
    arm_wake();
    return Delivery{kWakeOwner, Completion{0, cqe.res, nullptr}, -1};
  }
  auto id = static_cast<std::uint32_t>(data);
  Op& op = ops_[id];
  if (op.kind != Kind::read_many && op.kind != Kind::receive_many) return finish(id, cqe.res);

  // A multishot completion: the packet is the ring buffer the kernel picked. What parsing needs
  // is copied first: the op's slot may be released below.
  const Kind kind = op.kind;
  const msghdr layout = op.msg;
  Packet* p = nullptr;
  if ((cqe.flags & IORING_CQE_F_BUFFER) != 0) {
    p = pool_.at(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    --in_ring_;
  }
  Delivery d{op.owner, Completion{op.tag, cqe.res, p}, op.fd};
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {  // the kernel ended it (ring ran dry, cancel, error)
    if (op.cancelled || cqe.res == -ECANCELED) {
      op = Op{};
      free_ops_.push_back(id);
    } else {
      rearm_.push_back(id);
    }
  }
  if (p == nullptr) return std::nullopt;  // nothing to hand over (-ENOBUFS, -ECANCELED)
  if (cqe.res < 0) return d;
  p->resize(static_cast<std::size_t>(cqe.res));
  if (kind == Kind::receive_many) {
    msghdr msg = layout;
    auto* out = io_uring_recvmsg_validate(p->data(), cqe.res, &msg);
    if (out == nullptr || (out->flags & MSG_TRUNC) != 0) {
      d.completion.result = -EMSGSIZE;
      return d;
    }
    p->endpoint.len = std::min<socklen_t>(out->namelen, sizeof p->endpoint.addr);
    std::memcpy(&p->endpoint.addr, io_uring_recvmsg_name(out), p->endpoint.len);
    auto* payload = static_cast<std::uint8_t*>(io_uring_recvmsg_payload(out, &msg));
    unsigned length = io_uring_recvmsg_payload_length(out, cqe.res, &msg);
    p->strip(static_cast<std::size_t>(payload - p->data()));
    p->resize(length);
    d.completion.result = static_cast<std::int32_t>(length);
  }
  return d;
}

unsigned UringLoop::drain(const Handler& handler) {
  unsigned n = 0;
  for (auto& [owner, c] : std::exchange(deferred_, {})) {
    handler(owner, c);
    ++n;
  }
  io_uring_cqe* cqe = nullptr;
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    if (auto d = settle(*cqe)) handler(d->owner, d->completion);
  }
  io_uring_cq_advance(&ring_, seen);
  return n + seen;
}

void UringLoop::cancel(int fd) {
  for (auto& op : ops_)
    if (op.live && op.fd == fd) op.cancelled = true;
  std::erase_if(rearm_, [&](std::uint32_t id) {
    if (ops_[id].fd != fd) return false;
    ops_[id] = Op{};
    free_ops_.push_back(id);
    return true;
  });
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, kCancelData);
  auto pending = [&] {
    return std::any_of(ops_.begin(), ops_.end(), [&](const Op& op) { return op.live && op.fd == fd; });
  };
  while (pending()) {
    io_uring_submit_and_wait(&ring_, 1);
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      if (auto d = settle(*cqe)) {
        if (d->fd == fd) pool_.free(d->completion.packet);
        else deferred_.push_back({d->owner, d->completion});
      }
      io_uring_cqe_seen(&ring_, cqe);
    }
  }
}

}  // namespace waygate
