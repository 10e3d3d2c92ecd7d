// sio — metrics: what the server counts, as a snapshot for the application's own metrics library, or as the
// Prometheus text format (docs/metrics.md).
#pragma once

#include <sio/config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sio {

/// Turns metrics on (`server_options::metrics`). With the option unset nothing is counted and no hook
/// costs more than a null-pointer test.
struct metrics_options {
    /// Serve the Prometheus text format at this path of the server's HTTP port (`GET`; e.g. "/metrics").
    /// Empty: not served (read `server::metrics()` instead). Anyone who reaches the port can read it: see
    /// docs/metrics.md for what it shows.
    std::string endpoint;
    /// Serve a health check at this path (e.g. "/healthz"): 200 `ok` while the server accepts connections
    /// and every namespace's adapter is connected, else 503 with the reason. Empty: not served.
    std::string health_endpoint;
    /// At most this many namespaces get their own `namespace` label value; the sockets of the others are
    /// summed under `namespace="other"` (dynamic namespaces would otherwise make the label unbounded).
    std::size_t namespace_label_limit = 32;
};

/// One counter or gauge with its labels (name → value), or a histogram's series.
struct metric_sample {
    std::map<std::string, std::string> labels;
    double value = 0;
};

/// A histogram: cumulative bucket counts by upper bound (the last bound is +infinity), sum and count,
/// for one set of labels (none for most).
struct metric_histogram {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative_counts;
    double sum = 0;
    std::uint64_t count = 0;
    std::map<std::string, std::string> labels;
};

/// One metric: its Prometheus name, help text, type ("counter", "gauge", "histogram") and values.
struct metric_family {
    std::string name;
    std::string help;
    std::string type;
    std::vector<metric_sample> samples;       ///< counters and gauges
    std::vector<metric_histogram> histograms; ///< histograms (one series per set of labels)
};

/// Everything the server counts at one moment. Counters only grow (from the server's start); gauges are
/// current values. Not atomic across metrics: each is summed over the threads' counters in turn.
struct metrics_snapshot {
    std::vector<metric_family> families;

    /// The family called `name`, or null.
    const metric_family* find(std::string_view name) const noexcept;
    /// The value of `name` whose labels include every pair of `labels` (summed over the samples that
    /// match; for a histogram, its observation counts); 0 when none does.
    double value(std::string_view name, const std::map<std::string, std::string>& labels = {}) const;
};

/// `snapshot` in the Prometheus text exposition format, version 0.0.4.
std::string to_prometheus(const metrics_snapshot& snapshot);

} // namespace sio
