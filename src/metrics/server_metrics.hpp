// Private to the library: the metrics of a sio::server, read and served over HTTP (include/sio/metrics.hpp).
#pragma once

#include <sio/metrics.hpp>

#include <memory>
#include <optional>

#include "../engineio/static_route.hpp"

namespace sio::detail {

class server_state;

/// The snapshot of `server` (empty when its metrics are off).
metrics_snapshot read_metrics(server_state& server);

/// `GET <endpoint>` (the Prometheus text) and `GET <health_endpoint>` of `server`'s metrics options;
/// nullopt for any other request (or when the server is gone).
std::optional<engineio::detail::static_reply> serve_metrics(const std::weak_ptr<server_state>& server,
                                                            const engineio::detail::static_request& req);

} // namespace sio::detail
