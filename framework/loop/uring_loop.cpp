#include "uring_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <stdexcept>
#include <system_error>

namespace waygate {

namespace {
constexpr std::uint64_t kWakeData = ~std::uint64_t{0};
constexpr std::uint64_t kCancelData = ~std::uint64_t{0} - 1;
}  // namespace

class UringLoop::StageIo final : public Io {
 public:
  StageIo(UringLoop& loop, std::uint32_t owner) : loop_(loop), owner_(owner) {}
  void read(int fd, Packet* p, std::uint64_t tag) override { loop_.queue(owner_, fd, p, tag, Kind::read); }
  void write(int fd, Packet* p, std::uint64_t tag) override { loop_.queue(owner_, fd, p, tag, Kind::write); }
  void receive(int fd, Packet* p, std::uint64_t tag) override { loop_.queue(owner_, fd, p, tag, Kind::receive); }
  void send(int fd, Packet* p, std::uint64_t tag) override { loop_.queue(owner_, fd, p, tag, Kind::send); }
  void cancel(int fd) override { loop_.cancel(fd); }

 private:
  UringLoop& loop_;
  std::uint32_t owner_;
};

UringLoop::UringLoop(Pool& pool, unsigned entries, unsigned max_ops)
    : pool_(pool), ops_(max_ops) {
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
  arm_wake();
}

UringLoop::~UringLoop() {
  io_uring_queue_exit(&ring_);  // the kernel cancels whatever is still in flight
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

void UringLoop::queue(std::uint32_t owner, int fd, Packet* p, std::uint64_t tag, Kind kind) {
  io_uring_sqe* s = free_ops_.empty() ? nullptr : sqe();
  if (s == nullptr) {
    deferred_.push_back({owner, Completion{tag, -ENOBUFS, p}});
    return;
  }
  std::uint32_t id = free_ops_.back();
  free_ops_.pop_back();
  Op& op = ops_[id];
  op = Op{owner, fd, kind, tag, p, {}, {}};
  auto room = p->writable();
  switch (kind) {
    case Kind::read:
      io_uring_prep_read(s, fd, room.data(), static_cast<unsigned>(room.size()), 0);
      break;
    case Kind::write:
      io_uring_prep_write(s, fd, p->data(), static_cast<unsigned>(p->size()), 0);
      break;
    case Kind::receive:
      op.iov = {room.data(), room.size()};
      op.msg.msg_name = &p->endpoint.addr;
      op.msg.msg_namelen = sizeof p->endpoint.addr;
      op.msg.msg_iov = &op.iov;
      op.msg.msg_iovlen = 1;
      io_uring_prep_recvmsg(s, fd, &op.msg, 0);
      break;
    case Kind::send:
      op.iov = {p->data(), p->size()};
      op.msg.msg_name = &p->endpoint.addr;
      op.msg.msg_namelen = p->endpoint.len;
      op.msg.msg_iov = &op.iov;
      op.msg.msg_iovlen = 1;
      io_uring_prep_sendmsg(s, fd, &op.msg, 0);
      break;
  }
  io_uring_sqe_set_data64(s, id);
}

void UringLoop::wait(Time deadline) {
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

std::pair<std::uint32_t, Completion> UringLoop::retire(std::uint64_t id, std::int32_t result) {
  Op op = std::exchange(ops_[id], Op{});
  free_ops_.push_back(static_cast<std::uint32_t>(id));
  if (result >= 0 && (op.kind == Kind::read || op.kind == Kind::receive))
    op.packet->resize(static_cast<std::size_t>(result));
  if (op.kind == Kind::receive) op.packet->endpoint.len = result >= 0 ? op.msg.msg_namelen : 0;
  return {op.owner, Completion{op.tag, result, op.packet}};
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
    std::uint64_t data = io_uring_cqe_get_data64(cqe);
    if (data == kCancelData) continue;
    if (data == kWakeData) {
      arm_wake();
      handler(kWakeOwner, Completion{0, cqe->res, nullptr});
      continue;
    }
    auto [owner, c] = retire(data, cqe->res);
    handler(owner, c);
  }
  io_uring_cq_advance(&ring_, seen);
  return n + seen;
}

void UringLoop::cancel(int fd) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, kCancelData);
  auto pending = [&] {
    return std::any_of(ops_.begin(), ops_.end(), [&](const Op& op) { return op.fd == fd && op.packet != nullptr; });
  };
  while (pending()) {
    io_uring_submit_and_wait(&ring_, 1);
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      std::uint64_t data = io_uring_cqe_get_data64(cqe);
      if (data == kWakeData) {
        arm_wake();
        deferred_.push_back({kWakeOwner, Completion{0, cqe->res, nullptr}});
      } else if (data < ops_.size()) {
        bool cancelled = ops_[data].fd == fd;
        auto done = retire(data, cqe->res);
        if (cancelled) pool_.free(done.second.packet);
        else deferred_.push_back(done);
      }
      io_uring_cqe_seen(&ring_, cqe);
    }
  }
}

}  // namespace waygate
