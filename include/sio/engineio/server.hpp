// sio — the Engine.IO v4 server: HTTP long-polling, WebSocket, upgrade, heartbeat.
//
// Usable on its own, like Node's `engine.io` package:
//
//     boost::asio::io_context ioc;
//     sio::engineio::server eio(ioc.get_executor(), opts);
//     eio.on_connection([](sio::engineio::session s) {
//         s.on_message([s](sio::engineio::message&& m) mutable { s.send(std::move(m.data), {.binary =
//         m.binary}); });
//     });
//     eio.listen("127.0.0.1", 3000);
//     ioc.run();
#pragma once

#include <sio/config.hpp>
#include <sio/engineio/session.hpp>
#include <sio/error.hpp>
#include <sio/options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace boost::asio::ssl {
class context; // <boost/asio/ssl/context.hpp>; only the TLS overloads need it
} // namespace boost::asio::ssl

namespace sio::engineio {

namespace detail {
class server_impl;
struct access;
} // namespace detail

/// The payload of the `connection_error` event: a request the server refused.
struct connection_error {
    request_info request;
    connection_error_code code;
    std::string message;         ///< the reference message of `code`, or the `allow_request` message
    boost::json::object context; ///< details, e.g. `{"name":"TRANSPORT_MISMATCH", ...}`
};

/// The Engine.IO server.
///
/// TLS: see the `listen` and `accept` overloads taking a `boost::asio::ssl::context`, and `attach.hpp` for a
/// Beast HTTPS server (docs/tls.md).
///
/// Thread safety: `clients_count`, `close` and `accept` may be called from any thread. Register hooks and
/// handlers (`on_*`, `generate_id`) before `listen`/`accept`; they run on the strand of the connection or
/// session they concern and must not block.
///
/// Lifetime: the server object owns the listener; sessions and connections keep the shared state alive
/// until they end. Destroying the server closes it.
class server {
public:
    server(boost::asio::any_io_executor executor, engine_options options = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and starts accepting. `port` 0 picks a free port (see `local_port`).
    std::error_code listen(std::string_view address, std::uint16_t port);
    /// Like `listen`, serving HTTPS and WSS: every accepted connection first completes a TLS handshake with
    /// `tls` (bounded by `engine_options::header_timeout`; a failed or late handshake ends only that
    /// connection). `tls` is used by reference, like Asio's `ssl::stream`: it must outlive the server and
    /// every connection (e.g. own it next to the io_context). Configure it (certificate chain, key,
    /// options) before calling; Asio does not synchronise changes made while connections use it.
    std::error_code listen(std::string_view address, std::uint16_t port, boost::asio::ssl::context& tls);
    /// The port bound by `listen`, 0 before.
    std::uint16_t local_port() const noexcept;
    /// Serves HTTP on a socket accepted elsewhere (the connection may carry other paths: they get 404).
    void accept(boost::asio::ip::tcp::socket socket);
    /// Serves HTTPS on a socket accepted elsewhere: a TLS handshake with `tls` first (same rules and
    /// lifetime as the TLS `listen`).
    void accept(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls);

    /// A new session, after the handshake. Runs on the session's strand.
    void on_connection(std::function<void(session)> handler);
    /// Replaces the session id generator; may suspend. Ids must be unique: a duplicate refuses the
    /// handshake (400, code 3). An exception refuses it too.
    void generate_id(std::function<boost::asio::awaitable<std::string>(const request_info&)> generator);
    /// Edits the headers of the handshake response (polling or WebSocket), e.g. to set a cookie.
    void on_initial_headers(std::function<void(header_list&, const request_info&)> handler);
    /// Edits the headers of every response (handshake, polling, WebSocket upgrade).
    void on_headers(std::function<void(header_list&, const request_info&)> handler);
    /// A refused request, with the reference's code and message.
    void on_connection_error(std::function<void(const connection_error&)> handler);

    /// Number of open sessions.
    std::size_t clients_count() const noexcept;
    const engine_options& options() const noexcept;

    /// True when `target` (path and query) is under this server's path: such requests belong to Engine.IO.
    bool handles(std::string_view target) const noexcept;

    /// Stops listening and closes every session at once ("forced server close"; queued packets are
    /// discarded, like the reference). Idempotent.
    void close();

private:
    friend struct detail::access; // the library's own way in (attach, the Socket.IO server)
    std::shared_ptr<detail::server_impl> impl_;
};

/// The default id generator: 15 bytes from the system CSPRNG, base64url (20 characters).
std::string generate_session_id();

} // namespace sio::engineio
