// A polling request to an open session: a GET parked until the session has packets for it (or the client
// goes away), a POST whose payload is read, bounded and handed to the session.
#include <sio/engineio/packet_v3.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <vector>

#include "../log.hpp"
#include "http_connection.hpp"

namespace sio::engineio::detail {

namespace http = beast::http;
namespace websocket = beast::websocket;
using net::use_awaitable;
using net::ip::tcp;
constexpr auto as_tuple_awaitable = net::as_tuple(use_awaitable);

net::awaitable<bool> http_connection::poll_get(const request_type& req, std::shared_ptr<session_impl> s) {
    SIO_LOG(engine_polling, debug, "GET ", s->id());
    poll_result r;
    if (buffer_.size() == 0) {
        // Park the GET on the session; a client that goes away meanwhile ends the session (reference:
        // "poll connection closed prematurely").
        auto [order, get_ex, get_result, wait_ec] =
            co_await net::experimental::make_parallel_group(
                net::co_spawn(s->strand(), s->handle_get(), net::deferred),
                stream_->socket().async_wait(tcp::socket::wait_read, net::deferred))
                .async_wait(net::experimental::wait_for_one(), use_awaitable);
        if (order[0] == 0) {
            if (get_ex)
                std::rethrow_exception(get_ex);
            r = std::move(get_result);
        } else {
            boost::system::error_code ec;
            if (wait_ec || stream_->socket().available(ec) == 0 || ec) {
                co_await net::co_spawn(s->strand(), s->handle_poll_aborted(), use_awaitable);
                co_return false;
            }
            // Pipelined bytes, not a disconnect: wait without the watch.
            r = co_await net::co_spawn(s->strand(), s->handle_get(), use_awaitable);
        }
    } else {
        r = co_await net::co_spawn(s->strand(), s->handle_get(), use_awaitable);
    }
    if (r.status == 0)
        co_return false;
    if (r.status != 200)
        co_return co_await refuse(req, refused(connection_error_code::bad_request, named("SESSION_CLOSED")),
                                  false);
    co_return co_await write(req, http::status::ok, std::move(r.body),
                             r.binary ? "application/octet-stream" : "text/plain; charset=UTF-8", {},
                             r.compress);
}

net::awaitable<bool> http_connection::poll_post(http::request_parser<http::empty_body>& header_parser,
                                                std::shared_ptr<session_impl> s) {
    const request_type req = header_parser.get(); // the parser is moved below
    auto fail_session = [&](close_reason reason, const char* why) { s->close(reason, why); };
    if (!s->begin_post()) {
        SIO_LOG(engine_polling, debug, "POST ", s->id(), ": overlap from client");
        fail_session(close_reason::transport_error, "overlap from client");
        co_return co_await refuse(req, refused(connection_error_code::bad_request, named("POST_OVERLAP")),
                                  false) &&
            header_parser.is_done();
    }
    struct post_guard {
        std::shared_ptr<session_impl> s;
        ~post_guard() { s->end_post(); }
    } guard{s};
    const bool binary_body = req[http::field::content_type].starts_with("application/octet-stream");
    if (binary_body && s->protocol() != 3) {
        // Engine.IO v4 payloads are text; the reference answers 400 and drops the session
        // (CVE-2026-59725).
        SIO_LOG(engine_polling, debug, "POST ", s->id(), ": invalid content type");
        fail_session(close_reason::transport_error, "invalid content type");
        co_await write(req, http::status::bad_request, "", "text/plain", {}, false, false);
        co_return false;
    }
    if (const auto len = header_parser.content_length(); len && *len > o_.max_http_buffer_size) {
        SIO_LOG(engine_polling, debug, "POST ", s->id(), ": payload too large");
        fail_session(close_reason::transport_error, "payload too large");
        co_await write(req, http::status::payload_too_large, "", "text/plain", {}, false, false);
        co_return false;
    }
    http::request_parser<http::string_body> parser{std::move(header_parser)};
    parser.body_limit(o_.max_http_buffer_size);
    stream_->tcp().expires_after(o_.body_timeout);
    auto [ec, n] = co_await http::async_read(*stream_, buffer_, parser, as_tuple_awaitable);
    body_unread_ = static_cast<bool>(ec);
    if (ec) {
        SIO_LOG(engine_polling, debug, "POST ", s->id(), ": body not received: ", ec);
        fail_session(close_reason::transport_error, "POST body not received");
        if (ec == http::error::body_limit)
            co_await write(req, http::status::payload_too_large, "", "text/plain", {}, false, false);
        co_return false;
    }
    std::vector<packet> packets;
    const std::string_view body = parser.get().body();
    const auto decode_error = s->protocol() != 3 ? decode_payload(body, o_.max_packets_per_payload, packets)
                              : binary_body
                                  ? v3::decode_binary_payload(body, o_.max_packets_per_payload, packets)
                                  : v3::decode_payload(body, o_.max_packets_per_payload, packets);
    SIO_LOG(engine_polling, debug, "POST ", s->id(), ": ", packets.size(), " packets",
            decode_error ? ", payload error: " : "", decode_error ? decode_error.message() : std::string());
    const auto result =
        co_await net::co_spawn(s->strand(), s->handle_post(std::move(packets), decode_error), use_awaitable);
    if (result) {
        co_await write(req, http::status::bad_request, "", "text/plain", {}, false, false);
        co_return false;
    }
    co_return co_await write(req, http::status::ok, "ok", "text/html");
}

} // namespace sio::engineio::detail
