// The HTTP side of the Engine.IO server: the keep-alive loop of one connection, request routing and
// validation, refusals and responses. The handshake, polling and WebSocket requests are served by the
// members in handshake.cpp, polling_http.cpp and websocket_accept.cpp.
#include "http_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <sstream>

#include "../log.hpp"
#include "cors.hpp"
#include "query.hpp"
#include "response_head.hpp"

namespace sio::engineio::detail {

namespace http = beast::http;
namespace websocket = beast::websocket;
using net::use_awaitable;
using net::ip::tcp;
constexpr auto as_tuple_awaitable = net::as_tuple(use_awaitable);

namespace {

/// The Engine.IO revision of a request: 4 for `EIO=4`; else 3 when v3 clients are allowed (the reference
/// takes any other value, or none, as 3), else 0 (refused).
int protocol_of(const query_params& q, const engine_options& o) {
    if (q.eio && *q.eio == "4")
        return 4;
    return o.allow_eio3 ? 3 : 0;
}

bool path_matches(const engine_options& o, std::string_view target) {
    const std::string_view path = target.substr(0, target.find('?'));
    std::string_view base = o.path;
    while (!base.empty() && base.back() == '/')
        base.remove_suffix(1);
    if (path == base)
        return true;
    return o.add_trailing_slash && path.size() > base.size() && path.substr(0, base.size()) == base &&
           path[base.size()] == '/';
}

bool has_control_chars(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && u != '\t') || u == 0x7f;
    });
}

} // namespace

request_info make_request_info(const request_type& req, const tcp::socket& socket) {
    request_info info;
    info.method = std::string(req.method_string());
    info.target = std::string(req.target());
    std::size_t fields = 0;
    std::size_t bytes = 0;
    for (const auto& f : req) {
        ++fields;
        bytes += f.name_string().size() + f.value().size();
    }
    info.headers.reserve(fields, bytes);
    for (const auto& f : req)
        info.headers.add(f.name_string(), f.value());
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    if (!ec)
        info.remote_address = ep.address().to_string();
    return info;
}

boost::json::object kv(std::string_view key, boost::json::value value) {
    boost::json::object o;
    o[key] = std::move(value);
    return o;
}

boost::json::object named(std::string_view name) {
    boost::json::object o;
    o["name"] = name;
    return o;
}

net::awaitable<void> http_connection::run() {
    listed_.io = stream_;
    if (!server_->add_connection(listed_))
        server_impl::end_connection(stream_); // closed already: the first read fails
    try {
        bool first = true;
        bool open = true;
        if (tls_handshake_) {
            // Bounded like the first request header; a peer that fails it (plain HTTP, garbage, a client
            // refusing the certificate) loses only this connection.
            stream_->tcp().expires_after(o_.header_timeout);
            auto [ec] =
                co_await stream_->tls()->async_handshake(net::ssl::stream_base::server, as_tuple_awaitable);
            open = !ec;
        }
        while (open) {
            http::request_parser<http::empty_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(o_.max_header_bytes));
            // The body's limit is applied where a body is read (a POST over max_http_buffer_size is 413,
            // and closes its session); Beast's default would refuse a large Content-Length in the header.
            parser.body_limit(std::numeric_limits<std::uint64_t>::max());
            stream_->tcp().expires_after(first ? o_.header_timeout : o_.idle_timeout);
            first = false;
            auto [ec, n] = co_await http::async_read_header(*stream_, buffer_, parser, as_tuple_awaitable);
            if (ec) {
                if (ec == http::error::header_limit)
                    co_await write(request_type{}, http::status::request_header_fields_too_large, "",
                                   "text/plain", {}, false, false);
                else if (ec != http::error::end_of_stream && ec != net::error::eof &&
                         ec != beast::error::timeout && ec != net::error::operation_aborted &&
                         ec != net::error::connection_reset && buffer_.size() > 0)
                    co_await write(request_type{}, http::status::bad_request, "", "text/plain", {}, false,
                                   false);
                break;
            }
            if (!co_await handle(parser) || handed_over_)
                break;
        }
    } catch (const std::exception& e) {
        SIO_LOG(engine, warning, "connection ended by an exception: ", e.what());
        // Never let one connection take the process down.
    }
    server_->remove_connection(listed_);
    if (!handed_over_) {
        boost::system::error_code ignored;
        stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_->socket().close(ignored);
    }
}

net::awaitable<bool> http_connection::handle(http::request_parser<http::empty_body>& parser) {
    const request_type& req = parser.get();
    if (static_cast<std::size_t>(std::distance(req.begin(), req.end())) > o_.max_header_count)
        co_return co_await write(req, http::status::request_header_fields_too_large, "", "text/plain", {},
                                 false, false);
    const bool is_upgrade = websocket::is_upgrade(req);
    const bool body_pending = !parser.is_done();
    body_unread_ = body_pending;
    if (server_->static_route_) {
        const static_request sreq{req.target(), req[http::field::if_none_match],
                                  req[http::field::accept_encoding]};
        if (auto reply = server_->static_route_(sreq))
            co_return co_await write_static(req, std::move(*reply), !is_upgrade && !body_pending);
    }
    if (!path_matches(o_, req.target())) {
        // Not ours. A stray upgrade is refused and the connection ended (CVE-2022-41940).
        co_return co_await write(req, is_upgrade ? http::status::bad_request : http::status::not_found,
                                 is_upgrade ? "Bad Request" : "Not Found", "text/plain", {}, false,
                                 !is_upgrade && !body_pending);
    }
    if (o_.cors && req.method() == http::verb::options) {
        header_list h;
        add_cors_headers(*o_.cors, req[http::field::origin], req["Access-Control-Request-Headers"], h, true);
        co_return co_await write(req, http::status::no_content, "", "", std::move(h), false, !body_pending);
    }

    const query_params q = parse_query(req.target());
    const bool transport_ok = q.transport && ((*q.transport == "polling" && o_.polling) ||
                                              (*q.transport == "websocket" && o_.websocket));
    if (!transport_ok) {
        boost::json::object ctx = kv("transport", q.transport ? boost::json::value(*q.transport) : nullptr);
        co_return co_await refuse(req, refused(connection_error_code::unknown_transport, std::move(ctx)),
                                  is_upgrade);
    }
    if (const auto origin = req[http::field::origin]; has_control_chars(origin))
        co_return co_await refuse(req, refused(connection_error_code::bad_request, named("INVALID_ORIGIN")),
                                  is_upgrade);

    if (q.sid) {
        auto s = server_->find(*q.sid);
        if (!s)
            co_return co_await refuse(
                req, refused(connection_error_code::unknown_sid, kv("sid", boost::json::string(*q.sid))),
                is_upgrade);
        const std::string_view current = s->transport() == transport_kind::polling ? "polling" : "websocket";
        if (const int protocol = protocol_of(q, o_); o_.allow_eio3 && protocol != s->protocol()) {
            // A request of another revision than the handshake's (reference: PROTOCOL_MISMATCH).
            boost::json::object ctx = named("PROTOCOL_MISMATCH");
            ctx["protocol"] = protocol;
            ctx["previousProtocol"] = s->protocol();
            co_return co_await refuse(req, refused(connection_error_code::bad_request, std::move(ctx)),
                                      is_upgrade);
        }
        if (is_upgrade) {
            if (*q.transport != "websocket")
                co_return co_await refuse(
                    req, refused(connection_error_code::bad_request, named("TRANSPORT_MISMATCH")), true);
            co_return co_await upgrade(req, std::move(s));
        }
        if (*q.transport != current) {
            boost::json::object ctx = named("TRANSPORT_MISMATCH");
            ctx["transport"] = *q.transport;
            ctx["previousTransport"] = current;
            co_return co_await refuse(req, refused(connection_error_code::bad_request, std::move(ctx)),
                                      false);
        }
        if (req.method() == http::verb::get)
            co_return co_await poll_get(req, std::move(s));
        if (req.method() == http::verb::post)
            co_return co_await poll_post(parser, std::move(s));
        co_return co_await refuse(req, refused(connection_error_code::bad_request, named("BAD_METHOD")),
                                  false);
    }

    // A handshake.
    if (req.method() != http::verb::get)
        co_return co_await refuse(req,
                                  refused(connection_error_code::bad_handshake_method,
                                          kv("method", boost::json::string(req.method_string()))),
                                  is_upgrade) &&
            !body_pending;
    if (*q.transport == "websocket" && !is_upgrade)
        co_return co_await refuse(
            req, refused(connection_error_code::bad_request, named("TRANSPORT_HANDSHAKE_ERROR")), false);
    if (is_upgrade && *q.transport != "websocket")
        co_return co_await refuse(
            req, refused(connection_error_code::bad_request, named("TRANSPORT_MISMATCH")), true);
    const int protocol = protocol_of(q, o_);
    if (protocol == 0) {
        boost::json::object ctx = kv("protocol", q.eio ? boost::json::value(*q.eio) : nullptr);
        co_return co_await refuse(
            req, refused(connection_error_code::unsupported_protocol_version, std::move(ctx)), is_upgrade);
    }
    co_return co_await handshake(req, is_upgrade, protocol, protocol == 3 && q.b64);
}

net::awaitable<bool> http_connection::refuse(const request_type& req, refusal r, bool upgrade) {
    if (r.message.empty())
        r.message = std::string(error_message(r.code));
    if (static_cast<std::size_t>(r.code) < metrics_detail::cell::handshake_codes) // metrics hook
        metrics_detail::count(server_->metrics_.get(),
                              metrics_detail::cell::handshake_errors + static_cast<std::size_t>(r.code));
    SIO_LOG(engine, debug, "refused ", std::string_view(req.method_string()), " ",
            std::string_view(req.target()), ": ", static_cast<int>(r.code), " ", r.message);
    if (server_->on_connection_error_) {
        try {
            server_->on_connection_error_(connection_error{make_request_info(req, stream_->socket()), r.code,
                                                           r.message, std::move(r.context)});
        } catch (...) {
            SIO_LOG(engine, warning, "the connection_error handler threw");
        }
    }
    const auto status =
        r.code == connection_error_code::forbidden ? http::status::forbidden : http::status::bad_request;
    if (upgrade) {
        // Like the reference's abortUpgrade: a bare response with the message, then the socket is
        // destroyed.
        co_await write(req, status, r.message, "text/html", {}, false, false);
        co_return false;
    }
    boost::json::object body = kv("code", static_cast<int>(r.code));
    body["message"] = r.message;
    co_return co_await write(req, status, boost::json::serialize(body), "application/json");
}

// `initial`: the initial_headers event (handshake responses); otherwise the headers event, which write()
// and make_websocket() emit once for every response, the handshake included.
void http_connection::apply_headers_event(header_list& h, const request_type& req, bool initial) {
    const auto& handler = initial ? server_->on_initial_headers_ : server_->on_headers_;
    if (!handler)
        return;
    const request_info info = make_request_info(req, stream_->socket());
    try {
        handler(h, info);
    } catch (...) {
        SIO_LOG(engine, warning, "a headers handler threw");
    }
}

net::awaitable<bool> http_connection::write(const request_type& req, http::status status, std::string body,
                                            std::string_view content_type, header_list extra,
                                            bool compressible, bool keep_alive) {
    if (o_.cors && req.method() != http::verb::options)
        add_cors_headers(*o_.cors, req[http::field::origin], {}, extra, false);
    if (status != http::status::no_content && req.version())
        apply_headers_event(extra, req, false);
    std::string_view content_encoding;
    if (compressible && o_.http_compression && body.size() >= o_.http_compression->threshold) {
        const auto accept = req[http::field::accept_encoding];
        const bool gzip = accept.find("gzip") != std::string_view::npos;
        const bool deflate = !gzip && accept.find("deflate") != std::string_view::npos;
        if (gzip || deflate) {
            if (std::string packed = compress(body, gzip); !packed.empty()) {
                body = std::move(packed);
                content_encoding = gzip ? "gzip" : "deflate";
            }
        }
    }
    const unsigned version = req.version() ? req.version() : 11;
    keep_alive = keep_alive && !body_unread_ && req.keep_alive();
    stream_->tcp().expires_after(o_.body_timeout);
    // The usual response (HTTP/1.1 with a body) is formatted by hand; anything else goes through Beast.
    if (auto head = format_response_head(
            {status, version, content_type, content_encoding, keep_alive, body.size()}, extra)) {
        const std::array<net::const_buffer, 2> bytes{net::buffer(*head), net::buffer(body)};
        auto [ec, n] = co_await net::async_write(*stream_, bytes, as_tuple_awaitable);
        co_return !ec && keep_alive;
    }
    http::response<http::string_body> res{status, version};
    if (!content_type.empty())
        res.set(http::field::content_type, content_type);
    for (const auto& [name, value] : extra.fields())
        res.insert(name, value);
    if (!content_encoding.empty())
        res.set(http::field::content_encoding, content_encoding);
    res.body() = std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(*stream_, res, as_tuple_awaitable);
    co_return !ec && res.keep_alive();
}

net::awaitable<bool> http_connection::write_static(const request_type& req, static_reply reply,
                                                   bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    for (const auto& [name, value] : reply.headers.fields())
        res.insert(name, value);
    const bool head = req.method() == http::verb::head;
    const auto length = reply.body.size();
    if (!head)
        res.body() = std::move(reply.body);
    res.keep_alive(keep_alive && !body_unread_ && req.keep_alive());
    res.prepare_payload();
    if (head && reply.status != 304)
        res.content_length(length);
    stream_->tcp().expires_after(o_.body_timeout);
    auto [ec, n] = co_await http::async_write(*stream_, res, as_tuple_awaitable);
    co_return !ec && res.keep_alive();
}

net::awaitable<void> serve_connection(std::shared_ptr<server_impl> server, tcp::socket socket,
                                      net::ssl::context* tls) {
    if (tls) {
        http_connection c(std::move(server), std::make_shared<stream>(std::move(socket), *tls), {}, true);
        co_await c.run();
    } else {
        http_connection c(std::move(server), std::make_shared<stream>(std::move(socket)));
        co_await c.run();
    }
}

net::awaitable<void> serve_attached(std::shared_ptr<server_impl> server, stream s, beast::flat_buffer buffer,
                                    http::request_header<> header) {
    // The header goes back in front of the unread bytes: the connection then reads it like any other
    // request (a Beast parser cannot be moved, nor resumed from a parsed header).
    std::ostringstream text;
    text << header;
    const std::string head = text.str();
    beast::flat_buffer joined;
    auto out = joined.prepare(head.size() + buffer.size());
    net::buffer_copy(out, std::array<net::const_buffer, 2>{net::buffer(head), buffer.data()});
    joined.commit(out.size());
    http_connection c(std::move(server), std::make_shared<stream>(std::move(s)), std::move(joined));
    co_await c.run();
}

bool path_matches(const server_impl& server, std::string_view target) {
    return path_matches(server.options_, target);
}

} // namespace sio::engineio::detail
