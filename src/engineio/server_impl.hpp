// Private to the library: the state behind sio::engineio::server, shared by the server object, its HTTP
// connections and its sessions; and the entry points of the HTTP connections (http_connection.cpp).
#pragma once

#include <sio/engineio/server.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "../metrics/registry.hpp"
#include "heartbeat_wheel.hpp"
#include "static_route.hpp"
#include "stream.hpp"
#include "teardown.hpp"

namespace sio::engineio::detail {

namespace net = boost::asio;
namespace beast = boost::beast;

class session_impl;

/// The state shared by the server object, its connections and its sessions.
class server_impl : public std::enable_shared_from_this<server_impl>, public abandonable {
public:
    server_impl(net::any_io_executor ex, engine_options opts);
    void abandon() noexcept override;

    net::any_io_executor executor_;
    const engine_options options_;

    std::function<void(session)> on_connection_;
    std::function<net::awaitable<std::string>(const request_info&)> generate_id_;
    std::function<void(header_list&, const request_info&)> on_initial_headers_;
    std::function<void(header_list&, const request_info&)> on_headers_;
    std::function<void(const connection_error&)> on_connection_error_;
    /// Null: the protocol timers read the steady clock (always, outside tests). Else a test's clock
    /// (test_hooks.hpp), set before the server listens or accepts; see manual_clock.hpp.
    std::shared_ptr<sio::detail::manual_clock> manual_clock_;
    /// Every session's heartbeat deadlines (one timer for the server); replaced only with manual_clock_.
    std::shared_ptr<heartbeat_wheel> heartbeats_;
    /// Requests it answers are served before Engine.IO routing (set before listening).
    static_route static_route_;
    /// Metrics (src/metrics/): null when off. Set before listening.
    std::shared_ptr<sio::metrics_detail::registry> metrics_;

    // The session table. Exact-match lookups only: no id is special.
    std::shared_ptr<session_impl> find(std::string_view sid) const;
    bool insert(const std::shared_ptr<session_impl>& s);
    void erase(const std::string& sid);
    std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

    /// A live HTTP connection, listed so that close() can end it. Intrusive: listing allocates nothing.
    struct listed_connection {
        std::weak_ptr<detail::stream> io; ///< the connection's stream
        listed_connection* prev = nullptr;
        listed_connection* next = nullptr;
        bool listed = false;
    };
    /// Lists `c` (until remove_connection); false when the server is closed, and `c` must end now.
    bool add_connection(listed_connection& c);
    void remove_connection(listed_connection& c) noexcept;
    /// Shuts the stream down and closes it, on its executor (any thread).
    static void end_connection(const std::weak_ptr<stream>& s);

    /// `tls`: null for plain TCP, else the context of every connection accepted (it outlives the server).
    void listen(net::ip::tcp::endpoint ep, std::error_code& ec, net::ssl::context* tls = nullptr);
    void accept(net::ip::tcp::socket socket, net::ssl::context* tls = nullptr);
    void close();
    /// Stops accepting and closes each session once its queued packets are written; after `deadline`
    /// what is left is closed at once (`close()`). `done` runs (on a strand of the executor) once every
    /// session is gone. A second call only adds its `done`.
    void close_gracefully(std::chrono::milliseconds deadline, std::function<void()> done);
    bool closed() const noexcept { return closed_.load(); }
    std::uint16_t port_ = 0;

private:
    net::awaitable<void> accept_loop(std::shared_ptr<net::ip::tcp::acceptor> acceptor,
                                     net::ssl::context* tls);

    mutable std::mutex mutex_;
    std::unordered_map<std::string_view, std::shared_ptr<session_impl>> sessions_; // keys view the ids
    listed_connection* connections_ = nullptr;                                     // the most recent first
    std::size_t connection_count_ = 0;
    /// Takes every listed connection off the list, appending their streams to `out` unless null (the lock
    /// held). Throws (bad_alloc) only before the list changes; with a null `out`, never.
    void unlist_connections(std::vector<std::weak_ptr<stream>>* out);
    std::atomic<std::size_t> count_{0};
    std::shared_ptr<net::ip::tcp::acceptor> acceptor_;
    std::atomic<bool> closed_{false};
    // Graceful close: no new session once draining; the drain timer (on drain_strand_) ends early when
    // the last session is erased.
    bool draining_ = false;
    std::shared_ptr<net::steady_timer> drain_timer_;
    std::vector<std::function<void()>> drained_handlers_;
    bool drained_ = false;
};

/// Serves one HTTP connection (defined in http_connection.cpp); with `tls`, after a TLS handshake bounded
/// by `header_timeout`.
net::awaitable<void> serve_connection(std::shared_ptr<server_impl> server, net::ip::tcp::socket socket,
                                      net::ssl::context* tls);
/// Serves a connection whose first request header the application read (`attach`), plain or TLS.
net::awaitable<void> serve_attached(std::shared_ptr<server_impl> server, stream s, beast::flat_buffer buffer,
                                    beast::http::request_header<> header);
/// True when the request target is under the server's path.
bool path_matches(const server_impl& server, std::string_view target);

} // namespace sio::engineio::detail
