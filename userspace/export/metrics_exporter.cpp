#include "export/metrics_exporter.h"

#include <limits>
#include <mutex>
#include <stdexcept>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

namespace tcpscope {
namespace {

prometheus::MetricType type_of(MetricKind kind) {
    switch (kind) {
        case MetricKind::Counter:
            return prometheus::MetricType::Counter;
        case MetricKind::Gauge:
            return prometheus::MetricType::Gauge;
        case MetricKind::Histogram:
            break;
    }
    return prometheus::MetricType::Histogram;
}

prometheus::ClientMetric::Histogram histogram_of(const SecondsHistogram& h) {
    prometheus::ClientMetric::Histogram out;
    out.sample_count = h.count();
    out.sample_sum = h.sum();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.counts().size(); ++i) {
        cumulative += h.counts()[i];
        double bound =
            i < h.bounds().size() ? h.bounds()[i] : std::numeric_limits<double>::infinity();
        out.bucket.push_back({cumulative, bound});
    }
    return out;
}

}  // namespace

std::vector<prometheus::MetricFamily> to_prometheus(const std::vector<MetricFamilyData>& families) {
    std::vector<prometheus::MetricFamily> out;
    out.reserve(families.size());
    for (const MetricFamilyData& f : families) {
        prometheus::MetricFamily family{f.name, f.help, type_of(f.kind), {}};
        for (const MetricSample& s : f.samples) {
            prometheus::ClientMetric metric;
            for (const auto& [name, value] : s.labels) {
                metric.label.push_back({name, value});
            }
            switch (f.kind) {
                case MetricKind::Counter:
                    metric.counter.value = s.value;
                    break;
                case MetricKind::Gauge:
                    metric.gauge.value = s.value;
                    break;
                case MetricKind::Histogram:
                    if (s.histogram != nullptr) {
                        metric.histogram = histogram_of(*s.histogram);
                    }
                    break;
            }
            family.metric.push_back(std::move(metric));
        }
        out.push_back(std::move(family));
    }
    return out;
}

// The last published families; scrapes (exposer threads) copy them.
class MetricsExporter::Published : public prometheus::Collectable {
  public:
    void set(std::vector<prometheus::MetricFamily> families) {
        std::lock_guard lock(mutex_);
        families_ = std::move(families);
    }
    std::vector<prometheus::MetricFamily> Collect() const override {
        std::lock_guard lock(mutex_);
        return families_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<prometheus::MetricFamily> families_;
};

MetricsExporter::MetricsExporter(const std::string& address)
    : published_(std::make_shared<Published>()) {
    try {
        exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot serve metrics on " + address + ": " + e.what());
    }
    exposer_->RegisterCollectable(published_);
}

MetricsExporter::~MetricsExporter() = default;

void MetricsExporter::publish(const MetricsModel& model) {
    published_->set(to_prometheus(model.snapshot()));
}

std::vector<int> MetricsExporter::listening_ports() const {
    return exposer_->GetListeningPorts();
}

}  // namespace tcpscope
