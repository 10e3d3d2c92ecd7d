// Opening a session: the handshake request (allow_request, the session id, the session cookie, the
// initial headers), then the first transport, polling or WebSocket.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "../log.hpp"
#include "websocket_accept.hpp"

namespace sio::engineio::detail {

namespace http = beast::http;
namespace websocket = beast::websocket;
using net::use_awaitable;
using net::ip::tcp;
constexpr auto as_tuple_awaitable = net::as_tuple(use_awaitable);

namespace {

// The first steps of a new session, on its strand. Named coroutines rather than capturing lambdas handed
// to co_spawn: built with GCC 12.2 and Boost 1.81, the `[s]` capture of such a lambda temporary (in the
// handshake's co_await expression) was released twice, once in the handshake frame and once by co_spawn's
// copy: every handshake lost a session reference, and closing the session was a use-after-free.
net::awaitable<poll_result> start_polling(std::shared_ptr<session_impl> s) {
    s->start();
    co_return co_await s->handle_get();
}

net::awaitable<void> start_websocket(std::shared_ptr<session_impl> s, std::shared_ptr<ws_stream> ws) {
    s->start();
    co_await s->run_beast_websocket(s, ws);
}

void start_framed_websocket(const std::shared_ptr<session_impl>& s, session_impl::framed_socket sock,
                            std::string response) {
    s->start();
    s->run_framed_websocket(std::move(sock), std::move(response));
}

/// The Set-Cookie value naming the session `id`.
std::string session_cookie(const cookie_options& c, const std::string& id) {
    std::string cookie = c.name + "=" + id + "; Path=" + c.path;
    if (!c.domain.empty())
        cookie += "; Domain=" + c.domain;
    if (c.max_age)
        cookie += "; Max-Age=" + std::to_string(c.max_age->count());
    if (c.http_only)
        cookie += "; HttpOnly";
    if (c.secure)
        cookie += "; Secure";
    if (!c.same_site.empty())
        cookie += "; SameSite=" + c.same_site;
    return cookie;
}

} // namespace

net::awaitable<std::optional<http_connection::refusal>>
http_connection::check_allowed(const request_type&, const request_info& info) {
    if (!o_.allow_request)
        co_return std::nullopt;
    allow_result r = allow_result::deny("Forbidden");
    try {
        r = co_await o_.allow_request(info);
    } catch (const std::exception& e) {
        SIO_LOG(engine, warning, "allow_request threw: ", e.what());
        // a throwing hook refuses
    }
    if (r.allowed)
        co_return std::nullopt;
    boost::json::object ctx;
    ctx["message"] = r.message;
    co_return refusal{connection_error_code::forbidden, r.message, std::move(ctx)};
}

net::awaitable<bool> http_connection::handshake(const request_type& req, bool is_upgrade, int protocol,
                                                bool base64) {
    request_info info = make_request_info(req, stream_->socket());
    if (auto denied = co_await check_allowed(req, info))
        co_return co_await refuse(req, std::move(*denied), is_upgrade);
    if (is_upgrade) {
        if (const auto why = websocket_request_error(req); !why.empty())
            co_return co_await refuse_websocket(req, why);
        if (buffer_.size() != 0)
            co_return co_await refuse_websocket(req, "Unexpected data before the WebSocket handshake");
    }
    std::string id; // stays empty when the generator throws: refused below
    try {
        if (server_->generate_id_)
            id = co_await server_->generate_id_(info);
        else
            id = generate_session_id();
    } catch (const std::exception& e) {
        SIO_LOG(engine, warning, "the id generator threw: ", e.what());
    }
    auto s = abandonable::make<session_impl>(
        server_, id, std::move(info), is_upgrade ? transport_kind::websocket : transport_kind::polling,
        // A WebSocket session takes over its connection, and its strand; a polling session is served by
        // many connections and keeps a strand of its own.
        is_upgrade ? reuse_or_make_strand(stream_->get_executor(), server_->executor_)
                   : make_session_strand(server_->executor_));
    if (protocol == 3)
        s->use_protocol_v3(base64);
    if (id.empty() || !server_->insert(s))
        co_return co_await refuse(
            req, refused(connection_error_code::bad_request, named("ID_GENERATION_ERROR")), is_upgrade);

    SIO_LOG(engine, debug, "handshaking client ", id, is_upgrade ? " (websocket)" : " (polling)");
    header_list initial;
    apply_headers_event(initial, req, true);
    if (o_.cookie)
        initial.add("Set-Cookie", session_cookie(*o_.cookie, id));

    if (is_upgrade && frames_itself()) {
        // The session writes the 101 and the open packet together, then frames the WebSocket itself.
        apply_headers_event(initial, req, false);
        std::string response = websocket_accept_response(req, initial);
        handed_over_ = true;
        net::dispatch(s->strand(), [s, sock = take_socket(), response = std::move(response)]() mutable {
            start_framed_websocket(s, std::move(sock), std::move(response));
        });
        co_return false;
    }
    if (is_upgrade) {
        auto ws = make_websocket(req, initial);
        auto [ec] = co_await ws->async_accept(req, as_tuple_awaitable);
        if (ec) {
            SIO_LOG(engine_ws, debug, "websocket handshake failed: ", ec);
            s->close(close_reason::transport_error, ec.message());
            co_return false;
        }
        handed_over_ = true;
        set_open_timeouts(*ws);
        net::co_spawn(s->strand(), start_websocket(s, ws), net::detached);
        co_return false;
    }

    auto r = co_await net::co_spawn(s->strand(), start_polling(s), use_awaitable);
    co_return co_await write(req, http::status::ok, std::move(r.body),
                             r.binary ? "application/octet-stream" : "text/plain; charset=UTF-8",
                             std::move(initial), true);
}

} // namespace sio::engineio::detail
