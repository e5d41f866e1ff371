#include "audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace waygate::policy {

AuditLog::AuditLog(Context& ctx)
    : ctx_(ctx),
      lines_(ctx.counter("audit_lines_total", "Audit lines written")),
      lost_(ctx.counter("audit_lines_lost_total", "Audit lines lost: no free buffer or a failed write")) {}

AuditLog::~AuditLog() { close(); }

void AuditLog::open(const std::string& path) {
  close();
  if (path.empty()) return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open audit log " + path);
}

void AuditLog::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void AuditLog::write(const std::string& line) {
  if (fd_ < 0) return;
  Packet* p = ctx_.pool().alloc();
  if (p == nullptr || !p->resize(line.size() + 1)) {
    if (p != nullptr) ctx_.pool().free(p);
    lost_.add();
    return;
  }
  std::memcpy(p->data(), line.data(), line.size());
  p->data()[line.size()] = '\n';
  ctx_.io().write(fd_, p, kTag);
}

void AuditLog::done(const Completion& c) {
  if (c.result == static_cast<std::int32_t>(c.packet->size())) lines_.add();
  else lost_.add();
  ctx_.pool().free(c.packet);
}

}  // namespace waygate::policy
