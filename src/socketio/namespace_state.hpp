// Private to the library: the state behind sio::namespace_ (its adapter keeps its sockets and rooms).
#pragma once

#include <sio/adapter_host.hpp>
#include <sio/broadcast_types.hpp>
#include <sio/namespace.hpp>
#include <sio/protocol/codec.hpp>
#include <sio/protocol/packet.hpp>
#include <sio/socket.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "../engineio/teardown.hpp"
#include "../metrics/registry.hpp"

namespace sio {
class adapter;
} // namespace sio

namespace sio::detail {

namespace net = boost::asio;
class server_state;
class socket_impl;

/// One namespace. Its sockets and rooms live in its adapter.
class namespace_impl : public std::enable_shared_from_this<namespace_impl>,
                       public engineio::detail::abandonable,
                       public adapter_host {
public:
    /// A parent namespace (`is_parent`) keeps no sockets of its own: it gets a memory adapter whatever
    /// the server's adapter factory (its children get the factory's).
    /// `recovery`: false for a namespace kept out of connection state recovery (`of_without_recovery`).
    namespace_impl(std::shared_ptr<server_state> server, std::string name,
                   std::shared_ptr<namespace_impl> parent, bool is_parent = false, bool recovery = true);
    ~namespace_impl(); // where the adapter's type is complete
    void abandon() noexcept override;

    const std::weak_ptr<server_state> server_;
    const std::string name_;
    const std::shared_ptr<namespace_impl> parent_; // for dynamic children
    const net::any_io_executor executor_;
    /// The server's packet codec (every socket of the namespace encodes with it).
    const std::shared_ptr<const protocol::packet_codec> codec_;
    /// The server's metrics, or null when off.
    const std::shared_ptr<metrics_detail::registry> metrics_;
    /// Connection state recovery is on and the adapter recovers (set at construction).
    bool recovers_ = false;
    /// This server's sockets in the namespace: added when the adapter takes a socket (`client::admit`),
    /// removed when it lets it go (`socket_impl::close`). What the metrics read instead of copying the
    /// adapter's sockets. Relaxed: a count, ordered with nothing. Any thread.
    std::atomic<std::int64_t> socket_count_{0};
    /// Recovery: this server's connected sockets of the namespace by pid (for a takeover). Any thread.
    void add_live_pid(const std::string& pid, const std::shared_ptr<socket_impl>& s);
    void remove_live_pid(const std::string& pid, const socket_impl* s);
    std::shared_ptr<socket_impl> live_socket(const std::string& pid) const;

    // Registered before traffic, read afterwards (see namespace_ docs).
    std::vector<std::function<void(socket)>> on_connection_;
    std::vector<std::function<net::awaitable<void>(socket)>> on_connection_coro_;
    std::vector<namespace_::middleware> middlewares_;
    std::unordered_map<std::string, std::vector<std::function<void(event&)>>> server_side_handlers_;
    // For parent namespaces: a matcher and the children created so far.
    std::function<bool(std::string_view, const boost::json::object&)> matcher_;

    /// Set at construction, never replaced (except by `abandon`).
    sio::adapter& adapter() const noexcept { return *adapter_; }

    // adapter_host
    const std::string& name() const noexcept override { return name_; }
    net::any_io_executor executor() const override { return executor_; }
    std::shared_ptr<const void> anchor() const override { return weak_from_this().lock(); }
    void deliver_server_side(std::string event, arguments args,
                             std::function<void(arguments)> reply) override;
    const protocol::packet_codec& codec() const noexcept override { return *codec_; }

    /// The local sockets a broadcast selects (a parent: its children's).
    std::vector<socket> select(const broadcast_flags& f) const;
    void broadcast(protocol::packet p, const broadcast_flags& f);
    void add_child(std::shared_ptr<namespace_impl> child);
    void remove_child(const std::shared_ptr<namespace_impl>& child);
    /// Drops handlers, middlewares and children (server shutdown: breaks reference cycles).
    void clear_handlers();
    bool empty() const;
    std::vector<std::shared_ptr<namespace_impl>> children() const;

    mutable std::mutex mutex_;

private:
    std::unique_ptr<sio::adapter> adapter_;
    mutable std::mutex live_pids_mutex_;
    std::unordered_map<std::string, std::weak_ptr<socket_impl>> live_pids_;
    std::vector<std::shared_ptr<namespace_impl>> children_;
};

/// The metrics hook of a cluster request (`error`: its result): counted, and as a timeout when it is one.
/// Not counted on the memory adapter itself, which asks no other server (namespace.cpp).
void count_adapter_request(const namespace_impl& nsp, metrics_detail::adapter_op op,
                           const std::error_code& error) noexcept;

} // namespace sio::detail
