// The thin adapter from MetricsModel to Prometheus: snapshots become
// prometheus-cpp metric families, served by its pull exposer (civetweb) on
// its own threads. The exposition format and the HTTP server are
// prometheus-cpp's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "core/metrics_model.h"

namespace prometheus {
class Exposer;
}

namespace tcpscope {

std::vector<prometheus::MetricFamily> to_prometheus(const std::vector<MetricFamilyData>& families);

class MetricsExporter {
  public:
    // Listens on HOST:PORT ("[::1]:9464" for IPv6) now; serves /metrics.
    // Throws std::runtime_error naming the address when it cannot listen.
    explicit MetricsExporter(const std::string& address);
    ~MetricsExporter();
    MetricsExporter(const MetricsExporter&) = delete;
    MetricsExporter& operator=(const MetricsExporter&) = delete;

    // What scrapes see from now on.
    void publish(const MetricsModel& model);
    std::vector<int> listening_ports() const;

  private:
    class Published;
    std::shared_ptr<Published> published_;
    std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace tcpscope
