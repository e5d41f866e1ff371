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

#include "segments.hpp"

namespace waygate {

namespace {
constexpr std::uint64_t kWakeData = ~std::uint64_t{0};
constexpr std::uint64_t kCancelData = ~std::uint64_t{0} - 1;
constexpr std::uint16_t kBufferGroup = 0;
constexpr std::uint16_t kLargeGroup = 1;
// IORING_OP_READ_MULTISHOT (Linux 6.7) follows IORING_OP_SENDMSG_ZC, the newest opcode Debian's
// liburing 2.3 names; probed at start, never used where the kernel lacks it.
constexpr std::uint8_t kOpReadMultishot = IORING_OP_SENDMSG_ZC + 1;
// Incrementally consumed buffer rings (Linux 6.12) and the room they must keep for a read (min_left,
// 7.1 and the stable kernels since): struct io_uring_buf_reg as the kernel has it now, where
// liburing 2.3 names the fields pad and resv. A kernel without min_left refuses it as a nonzero
// reserved field, so a ring that could cut a datagram short is never made.
struct BufferRingRegistration {
  std::uint64_t ring_addr;
  std::uint32_t ring_entries;
  std::uint16_t bgid;
  std::uint16_t flags;
  std::uint32_t min_left;
  std::uint32_t resv[5];
};
static_assert(sizeof(BufferRingRegistration) == sizeof(io_uring_buf_reg));
constexpr std::uint16_t kRingIncremental = 2;  // IOU_PBUF_RING_INC
constexpr std::uint32_t kBufferMore = 1u << 4;  // IORING_CQE_F_BUF_MORE
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
  void send_segments(int fd, std::span<Packet* const> packets, std::uint64_t tag) override {
    loop_.send_segments(owner_, fd, packets, tag);
  }
  void receive_segments(int fd, std::uint64_t tag) override { loop_.receive_segments(owner_, fd, tag); }
  void cancel(int fd) override { loop_.cancel(fd); }

 private:
  UringLoop& loop_;
  std::uint32_t owner_;
};

UringLoop::UringLoop(Pool& pool, unsigned entries, unsigned max_ops, bool multishot)
    : pool_(pool), ops_(max_ops), trains_(kTrains) {
  // The kernel does the submission work in the syscall we make anyway; a single issuer lets it
  // skip locking. Deferred task work: what completes while a turn runs (the multishot receives)
  // is posted when the loop next waits, all at once, instead of interrupting the turn. A kernel
  // refuses flags it lacks (DEFER_TASKRUN came in 6.1, SINGLE_ISSUER in 6.0), so the newest is
  // given up first and the rest only if they are refused too.
  constexpr unsigned kBase = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  int rc = -EINVAL;
  for (unsigned flags : {kBase | IORING_SETUP_DEFER_TASKRUN, kBase, 0u}) {
    io_uring_params params{};
    params.flags = flags;
    rc = io_uring_queue_init_params(entries, &ring_, &params);
    if (rc != -EINVAL) break;
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
  for (unsigned i = kTrains; i-- > 0;) free_trains_.push_back(i);

  // The provided-buffer ring: a quarter of the pool at most, buffers named by their pool index.
  if (multishot && pool.capacity() <= 65536) {
    ring_entries_ = std::bit_floor(std::clamp<unsigned>(static_cast<unsigned>(pool.capacity() / 4), 1, 4096));
    buffers_ = buffer_ring(ring_entries_, kBufferGroup);
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
  std::free(large_);
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
  ops_[id] = Op{true, false, kind, owner, fd, tag, p, {}, {}, 0};
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

void UringLoop::send_segments(std::uint32_t owner, int fd, std::span<Packet* const> packets, std::uint64_t tag) {
  for (; packets.size() > kMaxSegments; packets = packets.subspan(kMaxSegments))
    send_segments(owner, fd, packets.first(kMaxSegments), tag);
  std::optional<std::uint32_t> id;
  if (packets.size() > 1 && !free_trains_.empty()) id = new_op(owner, fd, tag, Kind::send_segments, packets.front());
  if (!id) {  // one datagram, or no train free: one by one
    for (Packet* p : packets) queue(owner, fd, p, tag, Kind::send);
    return;
  }
  std::uint32_t t = free_trains_.back();
  free_trains_.pop_back();
  Train& train = trains_[t];
  train.count = static_cast<std::uint32_t>(packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) {
    train.packets[i] = packets[i];
    train.iov[i] = {packets[i]->data(), packets[i]->size()};
  }
  ops_[*id].train = t;
  submit(*id);
}

void UringLoop::receive_segments(std::uint32_t owner, int fd, std::uint64_t tag) {
  if (!multishot_receive() || !large_ring()) {
    // Without large buffers a coalesced read would not fit in a packet: no coalescing, then.
    int off = 0;
    ::setsockopt(fd, SOL_UDP, UDP_GRO, &off, sizeof off);
    stream(owner, fd, tag, true);
    return;
  }
  if (auto id = new_op(owner, fd, tag, Kind::receive_segments, nullptr)) submit(*id);
}

// An empty provided-buffer ring of `entries` registered as group `group`, its buffers shared by
// reads down to `shared_min_left` bytes left if that is not 0; null if the kernel refuses.
io_uring_buf_ring* UringLoop::buffer_ring(unsigned entries, std::uint16_t group, std::uint32_t shared_min_left) {
  void* memory = nullptr;
  if (::posix_memalign(&memory, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), entries * sizeof(io_uring_buf)) != 0)
    return nullptr;
  auto* ring = static_cast<io_uring_buf_ring*>(memory);
  io_uring_buf_ring_init(ring);
  BufferRingRegistration wanted{};
  wanted.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
  wanted.ring_entries = entries;
  wanted.bgid = group;
  wanted.flags = shared_min_left != 0 ? kRingIncremental : 0;
  wanted.min_left = shared_min_left;
  io_uring_buf_reg reg{};
  std::memcpy(&reg, &wanted, sizeof reg);
  if (io_uring_register_buf_ring(&ring_, &reg, 0) != 0) {
    std::free(memory);
    return nullptr;
  }
  return ring;
}

// The ring of large buffers, registered and stocked once: shared by reads where the kernel can,
// one read each where it cannot; false if the kernel refuses both.
bool UringLoop::large_ring() {
  if (large_ != nullptr) return true;
  large_count_ = kLargeReads / kReadsPerSharedBuffer;
  large_size_ = kLargeRead * kReadsPerSharedBuffer;
  large_ = buffer_ring(large_count_, kLargeGroup, kLargeRead);
  if (large_ != nullptr) {
    large_used_.assign(large_count_, 0);
  } else {
    large_count_ = kLargeReads;
    large_size_ = kLargeRead;
    large_ = buffer_ring(large_count_, kLargeGroup);
    if (large_ == nullptr) return false;
  }
  large_memory_.reset(new std::uint8_t[large_count_ * large_size_]);
  for (unsigned i = 0; i < large_count_; ++i) give_large(i);
  return true;
}

// Lends large buffer `buffer` to the kernel again, whole.
void UringLoop::give_large(std::uint32_t buffer) {
  io_uring_buf_ring_add(large_, large_memory_.get() + std::size_t{buffer} * large_size_,
                        static_cast<unsigned>(large_size_), static_cast<unsigned short>(buffer),
                        io_uring_buf_ring_mask(large_count_), 0);
  io_uring_buf_ring_advance(large_, 1);
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
      op.msg.msg_name = &p->meta.endpoint.addr;
      op.msg.msg_namelen = sizeof p->meta.endpoint.addr;
      op.msg.msg_iov = &op.iov;
      op.msg.msg_iovlen = 1;
      io_uring_prep_recvmsg(s, op.fd, &op.msg, 0);
      break;
    }
    case Kind::send:
      op.iov = {p->data(), p->size()};
      op.msg.msg_name = &p->meta.endpoint.addr;
      op.msg.msg_namelen = p->meta.endpoint.len;
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
    case Kind::send_segments: {
      Train& t = trains_[op.train];
      op.msg.msg_name = &p->meta.endpoint.addr;
      op.msg.msg_namelen = p->meta.endpoint.len;
      op.msg.msg_iov = t.iov.data();
      op.msg.msg_iovlen = t.count;
      op.msg.msg_control = t.control.data();
      op.msg.msg_controllen = t.control.size();
      cmsghdr* c = CMSG_FIRSTHDR(&op.msg);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      auto size = static_cast<std::uint16_t>(p->size());
      std::memcpy(CMSG_DATA(c), &size, sizeof size);
      io_uring_prep_sendmsg(s, op.fd, &op.msg, 0);
      break;
    }
    case Kind::receive_segments:
      op.msg = {};
      op.msg.msg_namelen = sizeof(Endpoint{}.addr);
      op.msg.msg_controllen = kGroControlSize;
      io_uring_prep_recvmsg_multishot(s, op.fd, &op.msg, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = kLargeGroup;
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
  std::erase_if(rearm_, [&](std::uint32_t id) {
    if (ops_[id].kind != Kind::receive_segments && in_ring_ == 0) return false;  // wait for buffers
    submit(id);
    return true;
  });
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

template <typename Deliver>
void UringLoop::finish(std::uint32_t id, std::int32_t result, Deliver&& deliver) {
  Op& op = ops_[id];
  if (op.kind == Kind::send_segments) {
    // The train goes back before its packets do: a handler may send the next one.
    const Op done = op;
    Train& t = trains_[done.train];
    std::array<Packet*, kMaxSegments> packets;
    std::size_t total = 0;
    for (std::uint32_t i = 0; i < t.count; ++i) {
      packets[i] = t.packets[i];
      total += t.iov[i].iov_len;
    }
    std::uint32_t count = t.count;
    op = Op{};
    free_ops_.push_back(id);
    free_trains_.push_back(done.train);
    for (std::uint32_t i = 0; i < count; ++i) {
      std::int32_t r = result < 0 ? result
                       : static_cast<std::size_t>(result) == total ? static_cast<std::int32_t>(packets[i]->size())
                                                                   : -EIO;
      deliver(Delivery{done.owner, Completion{done.tag, r, packets[i]}, done.fd});
    }
    return;
  }
  Delivery d{op.owner, Completion{op.tag, result, op.packet}, op.fd};
  bool reads = op.kind == Kind::read || op.kind == Kind::receive || op.kind == Kind::read_each ||
               op.kind == Kind::receive_each;
  if (result >= 0 && reads) op.packet->resize(static_cast<std::size_t>(result));
  if (op.kind == Kind::receive || op.kind == Kind::receive_each)
    op.packet->meta.endpoint.len = result >= 0 ? op.msg.msg_namelen : 0;
  Kind kind = op.kind;
  bool again = (kind == Kind::read_each || kind == Kind::receive_each) && !op.cancelled && result != -ECANCELED;
  op = Op{};
  free_ops_.push_back(id);
  if (again) {  // the fallback stream goes on with a fresh buffer
    if (Packet* p = pool_.alloc()) queue(d.owner, d.fd, p, d.completion.tag, kind);
  }
  deliver(d);
}

// A large buffer's read: each datagram in it is copied into a pool packet and delivered, and the
// buffer goes back to its ring at once, unless the kernel keeps it for more reads (`more`).
template <typename Deliver>
void UringLoop::split(const Op& op, std::uint32_t buffer, std::int32_t result, bool more, Deliver&& deliver) {
  std::uint8_t* base = large_memory_.get() + std::size_t{buffer} * large_size_;
  if (!large_used_.empty()) {
    base += large_used_[buffer];
    large_used_[buffer] = more && result > 0 ? large_used_[buffer] + static_cast<std::uint32_t>(result) : 0;
  }
  auto hand = [&](std::int32_t r, const std::uint8_t* bytes, const Endpoint& from) {
    Packet* p = pool_.alloc();
    if (p == nullptr) return;  // the pool is spent: lost, as an overflowing socket's would be
    if (r > 0 && static_cast<std::size_t>(r) > p->writable().size()) r = -EMSGSIZE;
    if (r > 0) {
      std::memcpy(p->data(), bytes, static_cast<std::size_t>(r));
      p->resize(static_cast<std::size_t>(r));
      p->meta.endpoint = from;
    }
    deliver(Delivery{op.owner, Completion{op.tag, r, p}, op.fd});
  };
  msghdr layout = op.msg;
  auto* raw = result >= 0 ? io_uring_recvmsg_validate(base, result, &layout) : nullptr;
  io_uring_recvmsg_out out{};  // copied out: in a shared buffer a read starts where the last ended
  if (raw != nullptr) std::memcpy(&out, raw, sizeof out);
  if (raw == nullptr || (out.flags & MSG_TRUNC) != 0) {
    if (result >= 0) hand(-EMSGSIZE, nullptr, Endpoint{});
  } else {
    Endpoint from;
    from.len = std::min<socklen_t>(out.namelen, sizeof from.addr);
    std::memcpy(&from.addr, io_uring_recvmsg_name(raw), from.len);
    const auto* payload = static_cast<const std::uint8_t*>(io_uring_recvmsg_payload(raw, &layout));
    std::size_t length = io_uring_recvmsg_payload_length(raw, result, &layout);
    const auto* control = base + sizeof out + layout.msg_namelen;
    for_each_segment(length, gro_segment_size(control, out.controllen, length), [&](std::size_t at, std::size_t n) {
      hand(static_cast<std::int32_t>(n), payload + at, from);
    });
  }
  if (!more) give_large(buffer);
}

template <typename Deliver>
void UringLoop::settle(const io_uring_cqe& cqe, Deliver&& deliver) {
  std::uint64_t data = io_uring_cqe_get_data64(&cqe);
  if (data == kCancelData) return;
  if (data == kWakeData) {
    arm_wake();
    deliver(Delivery{kWakeOwner, Completion{0, cqe.res, nullptr}, -1});
    return;
  }
  auto id = static_cast<std::uint32_t>(data);
  Op& op = ops_[id];
  const bool large = op.kind == Kind::receive_segments;
  if (op.kind != Kind::read_many && op.kind != Kind::receive_many && !large) {
    finish(id, cqe.res, deliver);
    return;
  }

  // A multishot completion: the packet is the ring buffer the kernel picked. What parsing needs
  // is copied first: the op's slot may be released below.
  const Op stream = op;
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {  // the kernel ended it (ring ran dry, cancel, error)
    if (op.cancelled || cqe.res == -ECANCELED) {
      op = Op{};
      free_ops_.push_back(id);
    } else {
      rearm_.push_back(id);
    }
  }
  if ((cqe.flags & IORING_CQE_F_BUFFER) == 0) return;  // nothing to hand over (-ENOBUFS, -ECANCELED)
  const auto buffer = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  if (large) {
    split(stream, buffer, cqe.res, (cqe.flags & kBufferMore) != 0, deliver);
    return;
  }
  Packet* p = pool_.at(buffer);
  --in_ring_;
  Delivery d{stream.owner, Completion{stream.tag, cqe.res, p}, stream.fd};
  if (cqe.res < 0) {
    deliver(d);
    return;
  }
  p->resize(static_cast<std::size_t>(cqe.res));
  if (stream.kind == Kind::receive_many) {
    msghdr msg = stream.msg;
    auto* out = io_uring_recvmsg_validate(p->data(), cqe.res, &msg);
    if (out == nullptr || (out->flags & MSG_TRUNC) != 0) {
      d.completion.result = -EMSGSIZE;
      deliver(d);
      return;
    }
    p->meta.endpoint.len = std::min<socklen_t>(out->namelen, sizeof p->meta.endpoint.addr);
    std::memcpy(&p->meta.endpoint.addr, io_uring_recvmsg_name(out), p->meta.endpoint.len);
    auto* payload = static_cast<std::uint8_t*>(io_uring_recvmsg_payload(out, &msg));
    unsigned length = io_uring_recvmsg_payload_length(out, cqe.res, &msg);
    p->strip(static_cast<std::size_t>(payload - p->data()));
    p->resize(length);
    d.completion.result = static_cast<std::int32_t>(length);
  }
  deliver(d);
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
    settle(*cqe, [&](const Delivery& d) { handler(d.owner, d.completion); });
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
      settle(*cqe, [&](const Delivery& d) {
        if (d.fd == fd) {
          if (pool_.owns(d.completion.packet)) pool_.free(d.completion.packet);
        }
        else deferred_.push_back({d.owner, d.completion});
      });
      io_uring_cqe_seen(&ring_, cqe);
    }
  }
}

}  // namespace waygate
