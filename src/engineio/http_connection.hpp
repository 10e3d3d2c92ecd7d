// Private to the library: one HTTP connection of the Engine.IO server. One coroutine per TCP connection, on
// that connection's strand; session state is reached by co_spawning onto the session's strand.
//
// The class's members live in the files of their concern: http_connection.cpp (the keep-alive loop,
// routing, refusals and responses), handshake.cpp (opening a session), polling_http.cpp (a polling GET or
// POST to a session) and websocket_accept.cpp (a WebSocket request: validation, the 101, Beast's accept).
#pragma once

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "server_impl.hpp"
#include "session_impl.hpp"

namespace sio::engineio::detail {

using request_type = beast::http::request<beast::http::empty_body>;

/// What the request hooks see of `req`, received on `socket`.
request_info make_request_info(const request_type& req, const net::ip::tcp::socket& socket);
/// `{key: value}`: the context of a refusal.
boost::json::object kv(std::string_view key, boost::json::value value);
/// `{"name": name}`: the context of a refusal.
boost::json::object named(std::string_view name);

/// One HTTP connection.
class http_connection {
public:
    /// `tls_handshake`: the stream is TLS and its server handshake is still to be done.
    http_connection(std::shared_ptr<server_impl> server, std::shared_ptr<stream> s,
                    beast::flat_buffer buffer = {}, bool tls_handshake = false)
        : server_(std::move(server)), o_(server_->options_), stream_(std::move(s)),
          buffer_(std::move(buffer)), tls_handshake_(tls_handshake) {}
    ~http_connection() { server_->remove_connection(listed_); } // a coroutine destroyed while suspended
    http_connection(const http_connection&) = delete;
    http_connection& operator=(const http_connection&) = delete;

    net::awaitable<void> run();

private:
    // A refused request, answered like the reference (JSON body over HTTP, raw 400/403 on upgrades).
    struct refusal {
        connection_error_code code;
        std::string message;
        boost::json::object context;
    };
    static refusal refused(connection_error_code code, boost::json::object context = {}) {
        return refusal{code, std::string(error_message(code)), std::move(context)};
    }

    net::awaitable<bool> handle(beast::http::request_parser<beast::http::empty_body>& parser);
    net::awaitable<bool> refuse(const request_type& req, refusal r, bool upgrade);
    /// `protocol`: the Engine.IO revision the client speaks (4, or 3 when allow_eio3 lets it in);
    /// `base64`: a v3 client asked for base64 binary (`b64` in the query).
    net::awaitable<bool> handshake(const request_type& req, bool upgrade, int protocol = 4,
                                   bool base64 = false);
    net::awaitable<bool> poll_get(const request_type& req, std::shared_ptr<session_impl> s);
    net::awaitable<bool> poll_post(beast::http::request_parser<beast::http::empty_body>& parser,
                                   std::shared_ptr<session_impl> s);
    net::awaitable<bool> upgrade(const request_type& req, std::shared_ptr<session_impl> s);
    net::awaitable<bool> refuse_websocket(const request_type& req, std::string_view why);
    /// After the WebSocket handshake: no idle timeout (the heartbeat detects dead peers), and a closing
    /// handshake (ours or the peer's) waits at most `ping_timeout` for the peer, so a client that neither
    /// answers the close frame nor closes the TCP connection cannot pin the socket.
    void set_open_timeouts(ws_stream& ws) const;
    net::awaitable<bool> write(const request_type& req, beast::http::status status, std::string body,
                               std::string_view content_type, header_list extra = {},
                               bool compressible = false, bool keep_alive = true);
    /// A static route's reply, as is (no CORS nor headers event: it is not an Engine.IO response).
    net::awaitable<bool> write_static(const request_type& req, static_reply reply, bool keep_alive);
    void apply_headers_event(header_list& h, const request_type& req, bool initial);
    net::awaitable<std::optional<refusal>> check_allowed(const request_type& req, const request_info& info);
    std::shared_ptr<ws_stream> make_websocket(const request_type& req, const header_list& extra);
    /// A plain TCP WebSocket without permessage-deflate is framed by the session (src/engineio/ws_frame.hpp);
    /// TLS and compression keep Beast's websocket::stream.
    bool frames_itself() { return !o_.per_message_deflate && !stream_->tls(); }
    /// The TCP socket, out of the connection's stream, for a session that frames the WebSocket itself.
    session_impl::framed_socket take_socket() {
        beast::get_lowest_layer(*stream_).expires_never();
        return std::make_shared<net::ip::tcp::socket>(stream_->tcp().release_socket());
    }

    std::shared_ptr<server_impl> server_;
    const engine_options& o_;
    std::shared_ptr<stream> stream_;
    beast::flat_buffer buffer_;
    bool tls_handshake_ = false;
    bool handed_over_ = false; // the stream now belongs to a WebSocket
    bool body_unread_ = false; // the current request's body was not read: the connection cannot be reused
    server_impl::listed_connection listed_; // in the server's list while run() runs
};

} // namespace sio::engineio::detail
