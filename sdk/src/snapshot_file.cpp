#include "waygate/snapshot_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace waygate {

SnapshotFile::SnapshotFile(Context& ctx, std::string_view name)
    : ctx_(ctx),
      written_(ctx.counter(std::string(name) + "_snapshots_total", "State snapshots written whole")),
      failed_(ctx.counter(std::string(name) + "_snapshots_failed_total",
                          "State snapshots given up: no buffer, a failed write or rename")) {}

SnapshotFile::~SnapshotFile() { abandon(); }

bool SnapshotFile::begin(const std::string& path) {
  if (busy()) return false;
  path_ = path;
  const std::string tmp = path + ".tmp";
  fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    ctx_.log().error("snapshot {}: {}", tmp, std::strerror(errno));
    failed_.add();
    return false;
  }
  committed_ = broken_ = false;
  in_flight_ = 0;
  return true;
}

void SnapshotFile::line(std::string_view text) {
  if (!busy() || committed_ || broken_) return;
  if (filling_ != nullptr && filling_->size() + text.size() + 1 > filling_->writable().size()) send();
  if (filling_ == nullptr) {
    filling_ = ctx_.pool().alloc();
    if (filling_ == nullptr) {
      broken_ = true;
      return;
    }
    filling_->resize(0);
  }
  const std::size_t at = filling_->size();
  if (at + text.size() + 1 > filling_->writable().size()) {  // longer than a whole buffer
    broken_ = true;
    return;
  }
  filling_->resize(at + text.size() + 1);
  std::memcpy(filling_->data() + at, text.data(), text.size());
  filling_->data()[at + text.size()] = '\n';
}

void SnapshotFile::send() {
  if (filling_ == nullptr) return;
  ++in_flight_;
  ctx_.io().write(fd_, filling_, kTag);  // whole lines only: their order does not matter
  filling_ = nullptr;
}

void SnapshotFile::commit() {
  if (!busy() || committed_) return;
  if (!broken_) send();
  committed_ = true;
  if (in_flight_ == 0) finish();
}

void SnapshotFile::done(const Completion& c) {
  if (c.result != static_cast<std::int32_t>(c.packet->size())) broken_ = true;
  ctx_.pool().free(c.packet);
  if (in_flight_ > 0) --in_flight_;
  if (committed_ && in_flight_ == 0) finish();
}

void SnapshotFile::finish() {
  ::close(fd_);
  fd_ = -1;
  const std::string tmp = path_ + ".tmp";
  if (filling_ != nullptr) {
    ctx_.pool().free(filling_);
    filling_ = nullptr;
  }
  if (!broken_ && std::rename(tmp.c_str(), path_.c_str()) == 0) {
    written_.add();
    return;
  }
  ctx_.log().warn("snapshot {} not written ({}): the previous one stays", path_,
                  broken_ ? "no buffer or a failed write" : std::strerror(errno));
  ::unlink(tmp.c_str());
  failed_.add();
}

void SnapshotFile::abandon() {
  if (!busy()) return;
  ctx_.io().cancel(fd_);
  broken_ = true;
  in_flight_ = 0;
  finish();
}

}  // namespace waygate
