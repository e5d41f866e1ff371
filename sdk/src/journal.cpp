#include "waygate/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace waygate {

Journal::Journal(Context& ctx, std::string_view name)
    : ctx_(ctx),
      lines_(ctx.counter(std::string(name) + "_lines_total", "Lines written to the file")),
      lost_(ctx.counter(std::string(name) + "_lines_lost_total",
                        "Lines lost: no free buffer, or a failed write")) {}

Journal::~Journal() {
  close();
  for (auto& r : retiring_) ::close(r.fd);
}

void Journal::open(const std::string& path, std::uint64_t max_bytes, unsigned keep) {
  close();
  path_ = path;
  max_bytes_ = max_bytes;
  keep_ = std::max(1u, keep);
  if (path.empty()) return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  off_t size = ::lseek(fd_, 0, SEEK_END);
  bytes_ = size > 0 ? static_cast<std::uint64_t>(size) : 0;
}

void Journal::close() {
  if (fd_ < 0) return;
  if (in_flight_ > 0) retiring_.push_back({generation_, fd_, in_flight_});
  else ::close(fd_);
  fd_ = -1;
  in_flight_ = 0;
  ++generation_;
}

void Journal::rotate() {
  std::string from, to;
  for (unsigned i = keep_; i >= 1; --i) {
    from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
    to = path_ + "." + std::to_string(i);
    std::rename(from.c_str(), to.c_str());  // a missing one is fine
  }
  std::string path = path_;
  close();
  try {
    open(path, max_bytes_, keep_);
  } catch (const std::system_error& e) {
    ctx_.log().error("journal {}: {}", path, e.what());
  }
}

void Journal::write(std::string_view line) {
  if (fd_ < 0) return;
  if (max_bytes_ > 0 && bytes_ > 0 && bytes_ + line.size() + 1 > max_bytes_) {
    rotate();
    if (fd_ < 0) {
      lost_.add();
      return;
    }
  }
  Packet* p = ctx_.pool().alloc();
  if (p == nullptr || !p->resize(line.size() + 1)) {
    if (p != nullptr) ctx_.pool().free(p);
    lost_.add();
    return;
  }
  std::memcpy(p->data(), line.data(), line.size());
  p->data()[line.size()] = '\n';
  bytes_ += p->size();
  ++in_flight_;
  ctx_.io().write(fd_, p, kTag | (generation_ & kGenerationMask));
}

void Journal::done(const Completion& c) {
  if (c.result == static_cast<std::int32_t>(c.packet->size())) lines_.add();
  else lost_.add();
  ctx_.pool().free(c.packet);
  const std::uint64_t generation = c.tag & kGenerationMask;
  if (fd_ >= 0 && generation == (generation_ & kGenerationMask)) {
    --in_flight_;
    return;
  }
  for (auto it = retiring_.begin(); it != retiring_.end(); ++it) {
    if ((it->generation & kGenerationMask) != generation) continue;
    if (--it->in_flight == 0) {
      ::close(it->fd);
      retiring_.erase(it);
    }
    return;
  }
}

}  // namespace waygate
