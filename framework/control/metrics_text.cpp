#include "metrics_text.hpp"

#include <map>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace waygate {

std::string prometheus_text(const CounterRegistry& registry) {
  std::vector<prometheus::MetricFamily> families;
  std::map<std::string, std::size_t, std::less<>> by_name;
  for (auto& sample : registry.snapshot()) {
    auto [it, fresh] = by_name.try_emplace(sample.name, families.size());
    if (fresh) {
      prometheus::MetricFamily family;
      family.name = sample.name;
      family.help = sample.help;
      family.type = sample.kind == MetricKind::counter ? prometheus::MetricType::Counter
                                                        : prometheus::MetricType::Gauge;
      families.push_back(std::move(family));
    }
    prometheus::ClientMetric metric;
    for (auto& [name, value] : sample.labels) metric.label.push_back({name, value});
    if (sample.kind == MetricKind::counter)
      metric.counter.value = static_cast<double>(sample.value);
    else
      metric.gauge.value = static_cast<double>(sample.value);
    families[it->second].metric.push_back(std::move(metric));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace waygate
