#include "drop_ledger.hpp"

#include "waygate/metric_names.hpp"

#include <map>

namespace waygate {

std::string_view DropLedger::reason(Drop why) const {
  const std::uint32_t r = reason_of(why);
  if (r == kNoId) return "";
  for (auto& [key, value] : reasons_[r].labels)
    if (key == "reason") return value;
  return "";
}

void DropLedger::add_reason(Drop drop, const std::string& prefix, const Labels& labels) {
  if (reason_of(drop) != kNoId) return;
  std::lock_guard lock(mutex_);
  const std::size_t old_reasons = reasons_.size();
  auto old = std::move(cells_);
  reasons_.push_back({drop.id(), prefix, labels});
  ids_.push_back(drop.id());
  const std::size_t rows = sockets_ + identities_, n = reasons_.size();
  cells_ = std::make_unique<std::atomic<std::uint64_t>[]>(rows * n);
  for (std::size_t row = 0; old && row < rows; ++row)
    for (std::size_t r = 0; r < old_reasons; ++r)
      cells_[row * n + r].store(old[row * old_reasons + r].load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void DropLedger::set_directory(const std::shared_ptr<const Directory>& directory) {
  if (directory == directory_) return;
  directory_ = directory;
  std::vector<std::string> sockets, identities;
  for (auto& s : directory->sockets) sockets.push_back(s.name);
  for (auto& i : directory->identities) identities.push_back(i.name);
  if (sockets != socket_names_ || identities != identity_names_) resize(std::move(sockets), std::move(identities));
}

void DropLedger::resize(std::vector<std::string> sockets, std::vector<std::string> identities) {
  std::lock_guard lock(mutex_);
  const std::size_t n = reasons_.size();
  auto cells = std::make_unique<std::atomic<std::uint64_t>[]>((sockets.size() + identities.size()) * n);
  // A row keeps its counts under its name; a name gone takes its counts with it.
  auto carry = [&](const std::vector<std::string>& old_names, std::size_t old_base,
                   const std::vector<std::string>& names, std::size_t base) {
    std::map<std::string, std::size_t> at;
    for (std::size_t i = 0; i < names.size(); ++i) at.emplace(names[i], base + i);
    for (std::size_t i = 0; i < old_names.size(); ++i) {
      auto it = at.find(old_names[i]);
      if (it == at.end()) continue;
      for (std::size_t r = 0; r < n; ++r)
        cells[it->second * n + r].store(cells_[(old_base + i) * n + r].load(std::memory_order_relaxed),
                                        std::memory_order_relaxed);
    }
  };
  if (cells_) {
    carry(socket_names_, 0, sockets, 0);
    carry(identity_names_, sockets_, identities, sockets.size());
  }
  cells_ = std::move(cells);
  socket_names_ = std::move(sockets);
  identity_names_ = std::move(identities);
  sockets_ = socket_names_.size();
  identities_ = identity_names_.size();
}

void DropLedger::collect(std::vector<MetricSample>& out) const {
  std::lock_guard lock(mutex_);
  const std::size_t n = reasons_.size();
  for (std::size_t row = 0; row < sockets_ + identities_; ++row)
    for (std::size_t r = 0; r < n; ++r) {
      const std::uint64_t v = cells_[row * n + r].load(std::memory_order_relaxed);
      if (v == 0) continue;
      const bool socket = row < sockets_;
      Labels labels{{socket ? "socket" : "identity", socket ? socket_names_[row] : identity_names_[row - sockets_]}};
      labels.insert(labels.end(), reasons_[r].labels.begin(), reasons_[r].labels.end());
      out.push_back({reasons_[r].prefix + std::string(socket ? metric::kSocketDrops : metric::kIdentityDrops),
                     socket ? "Packets of a socket dropped, by stage and reason"
                            : "Packets of an identity dropped, by stage and reason",
                     MetricKind::counter, std::move(labels), static_cast<std::int64_t>(v)});
    }
}

}  // namespace waygate
