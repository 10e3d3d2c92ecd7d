// Private to the library: the state behind sio::server (its namespaces and its Engine.IO server).
#pragma once

#include <sio/engineio/server.hpp>
#include <sio/server.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../engineio/static_route.hpp"
#include "../metrics/registry.hpp"
#include "namespace_state.hpp"

namespace sio::detail {

namespace net = boost::asio;

/// The server's shared state.
class server_state : public std::enable_shared_from_this<server_state> {
public:
    server_state(net::any_io_executor ex, server_options opts);

    const net::any_io_executor executor_;
    const server_options options_;
    /// `options_.parser.codec`, or the JSON parser when none was given.
    const std::shared_ptr<const protocol::packet_codec> codec_;
    engineio::server engine_;
    /// Metrics (src/metrics/): null unless `options_.metrics` is set.
    const std::shared_ptr<metrics_detail::registry> metrics_;
    /// The warning that the adapter cannot recover sessions was logged (once per server).
    std::atomic<bool> recovery_warned_{false};

    /// `recovery` false: created without connection state recovery; throws std::logic_error when the
    /// namespace exists already with it.
    std::shared_ptr<namespace_impl> of(std::string_view name, bool recovery = true);
    std::shared_ptr<namespace_impl>
    add_parent(std::function<bool(std::string_view, const boost::json::object&)> m);
    /// The namespace for a CONNECT: existing, or a new child of a matching parent; null if none.
    std::shared_ptr<namespace_impl> lookup(const std::string& name, const boost::json::object& auth);
    void remove_child_if_empty(const std::shared_ptr<namespace_impl>& nsp);
    std::vector<std::shared_ptr<namespace_impl>> namespaces() const;
    /// Every socket disconnects ("server shutting down"), then the engine closes gracefully within
    /// `deadline`, then the adapters close; `done` (may be empty) runs after that. Any thread, idempotent.
    void close(std::chrono::milliseconds deadline, std::function<void()> done);
    /// `close` was called.
    bool closing() const noexcept { return closed_.load(); }

    /// More static routes (the Admin UI's page), tried after the metrics and before the client bundle. Set
    /// before `listen` (add_static_route), read without a lock afterwards.
    std::vector<engineio::detail::static_route> extra_routes_;
    /// Set before `listen` (`server::observe`), read without a lock afterwards.
    std::vector<std::shared_ptr<server_observer>> observers_;
    void notify_namespace(const std::shared_ptr<namespace_impl>& nsp) const {
        for (const auto& o : observers_)
            o->on_namespace(namespace_(nsp));
    }

private:
    void finish_close();

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<namespace_impl>> namespaces_;
    std::vector<std::shared_ptr<namespace_impl>> parents_;
    std::atomic<bool> closed_{false};
};

/// Serves the requests `route` answers on `io`'s port (before Engine.IO routing). Before `listen`.
void add_static_route(server& io, engineio::detail::static_route route);

/// 20 URL-safe random characters (the same generator as Engine.IO session ids).
std::string generate_socket_id();

} // namespace sio::detail
