// Private to the library: a registry's cells as a public metrics_snapshot (include/sio/metrics.hpp).
#pragma once

#include <sio/metrics.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "registry.hpp"

namespace sio::metrics_detail {

/// What the snapshot reads from the server besides the counters.
struct server_view {
    /// Each namespace's name and its number of connected sockets on this server.
    std::vector<std::pair<std::string, std::size_t>> namespace_sockets;
    std::size_t namespace_label_limit = 32;
};

metrics_snapshot make_snapshot(const registry& r, const server_view& view);

} // namespace sio::metrics_detail
