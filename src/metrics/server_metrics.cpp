#include "server_metrics.hpp"

#include <sio/adapter.hpp>

#include <algorithm>
#include <cstdint>

#include "../socketio/server_state.hpp"
#include "snapshot.hpp"

namespace sio::detail {

metrics_snapshot read_metrics(server_state& server) {
    if (!server.metrics_)
        return {};
    metrics_detail::server_view view;
    view.namespace_label_limit = server.options_.metrics->namespace_label_limit;
    for (const auto& nsp : server.namespaces()) // a counter each: no copy of the adapter's sockets
        view.namespace_sockets.emplace_back(
            nsp->name_, static_cast<std::size_t>(
                            std::max<std::int64_t>(0, nsp->socket_count_.load(std::memory_order_relaxed))));
    return metrics_detail::make_snapshot(*server.metrics_, view);
}

namespace {

/// The path of a request target, without its query.
std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

engineio::detail::static_reply text_reply(unsigned status, std::string content_type, std::string body) {
    engineio::detail::static_reply r;
    r.status = status;
    r.headers.add("Content-Type", content_type);
    r.headers.add("Cache-Control", "no-store");
    r.body = std::move(body);
    return r;
}

/// Empty when healthy, else why not.
std::string health_problem(server_state& server) {
    if (server.closing())
        return "server closing";
    for (const auto& nsp : server.namespaces())
        if (!nsp->adapter().connected())
            return "adapter of " + nsp->name_ + " not connected";
    return {};
}

} // namespace

std::optional<engineio::detail::static_reply> serve_metrics(const std::weak_ptr<server_state>& weak,
                                                            const engineio::detail::static_request& req) {
    auto server = weak.lock();
    if (!server || !server->options_.metrics)
        return std::nullopt;
    const auto& o = *server->options_.metrics;
    const auto path = path_of(req.target);
    if (!o.endpoint.empty() && path == o.endpoint)
        return text_reply(200, "text/plain; version=0.0.4; charset=utf-8",
                          to_prometheus(read_metrics(*server)));
    if (!o.health_endpoint.empty() && path == o.health_endpoint) {
        auto problem = health_problem(*server);
        if (problem.empty())
            return text_reply(200, "text/plain; charset=utf-8", "ok\n");
        return text_reply(503, "text/plain; charset=utf-8", problem + "\n");
    }
    return std::nullopt;
}

} // namespace sio::detail
