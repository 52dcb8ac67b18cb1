// `serve --listeners`: listen's whole-run totals as metric families, with
// bounded labels: the namespace, the top N listening ports by drops (the
// rest "other"), the kernel's drop reasons, the top N refused ports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/listen_report.h"
#include "core/metrics_model.h"

namespace tcpscope {

std::vector<MetricFamilyData> listen_metric_families(const ListenReport& totals,
                                                     std::uint32_t netns, std::size_t top_n);

}  // namespace tcpscope
