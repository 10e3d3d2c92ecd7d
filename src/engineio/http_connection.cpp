// The HTTP side of the Engine.IO server: request routing and validation, the handshake, polling requests
// and the WebSocket handshake. One coroutine per TCP connection, on that connection's strand; session
// state is reached by co_spawning onto the session's strand.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <limits>
#include <sstream>
#include <unordered_set>

#include "../log.hpp"
#include "server_impl.hpp"
#include "session_impl.hpp"
#include <zlib.h>

namespace sio::engineio::detail {

namespace http = beast::http;
namespace websocket = beast::websocket;
using net::use_awaitable;
using net::ip::tcp;
constexpr auto as_tuple_awaitable = net::as_tuple(use_awaitable);

namespace {

using request_type = http::request<http::empty_body>;

/// The parts of the query string Engine.IO routes on.
struct query_params {
    std::optional<std::string> eio, transport, sid;
};

query_params parse_query(std::string_view target) {
    query_params q;
    auto url = boost::urls::parse_origin_form(target);
    if (!url)
        return q;
    for (auto param : url->params()) {
        auto take = [&](std::optional<std::string>& slot) {
            if (!slot)
                slot = std::string(param.value);
        };
        if (param.key == "EIO")
            take(q.eio);
        else if (param.key == "transport")
            take(q.transport);
        else if (param.key == "sid")
            take(q.sid);
    }
    return q;
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

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty())
            out += ",";
        out += s;
    }
    return out;
}

/// CORS response headers (the semantics of the `cors` npm package the reference uses).
void add_cors_headers(const cors_options& c, const request_type& req, header_list& h, bool preflight) {
    const auto origin = req[http::field::origin];
    const bool any =
        !c.origin_predicate && std::find(c.origins.begin(), c.origins.end(), "*") != c.origins.end();
    if (any) {
        h.set("Access-Control-Allow-Origin", "*");
    } else {
        const bool allowed =
            !origin.empty() &&
            (c.origin_predicate ? c.origin_predicate(origin)
                                : std::find(c.origins.begin(), c.origins.end(), origin) != c.origins.end());
        if (allowed)
            h.set("Access-Control-Allow-Origin", origin);
        h.add("Vary", "Origin");
    }
    if (c.credentials)
        h.set("Access-Control-Allow-Credentials", "true");
    if (!c.exposed_headers.empty())
        h.set("Access-Control-Expose-Headers", join(c.exposed_headers));
    if (!preflight)
        return;
    h.set("Access-Control-Allow-Methods", join(c.methods));
    if (!c.allowed_headers.empty()) {
        h.set("Access-Control-Allow-Headers", join(c.allowed_headers));
    } else if (const auto requested = req["Access-Control-Request-Headers"]; !requested.empty()) {
        h.set("Access-Control-Allow-Headers", requested);
        h.add("Vary", "Access-Control-Request-Headers");
    }
    if (c.max_age)
        h.set("Access-Control-Max-Age", std::to_string(c.max_age->count()));
}

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool is_token_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// A comma-separated list of distinct, non-empty tokens (optional whitespace around the commas), like the
/// reference's Sec-WebSocket-Protocol parser. Linear in the input.
bool valid_token_list(std::string_view list, std::unordered_set<std::string_view>& seen) {
    for (;;) {
        const std::size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (item.empty() || !std::all_of(item.begin(), item.end(), is_token_char) ||
            !seen.insert(item).second)
            return false;
        if (comma == std::string_view::npos)
            return true;
        list.remove_prefix(comma + 1);
    }
}

/// Why a WebSocket upgrade request must be refused before any session is opened for it, or empty. Beast's
/// accept checks the rest, but only after the session exists, and takes any key and answers 426 for a bad
/// version; the reference (`ws`) answers 400 to all of these.
std::string_view websocket_request_error(const request_type& req) {
    if (req.find(http::field::host) == req.end())
        return "Missing Host header";
    const auto key = req[http::field::sec_websocket_key];
    if (key.size() != 24 || key.substr(22) != "==" ||
        !std::all_of(key.begin(), key.begin() + 22, is_base64_char))
        return "Missing or invalid Sec-WebSocket-Key header";
    if (req[http::field::sec_websocket_version] != "13")
        return "Missing or invalid Sec-WebSocket-Version header";
    std::unordered_set<std::string_view> protocols;
    const auto [first, last] = req.equal_range(http::field::sec_websocket_protocol);
    for (auto it = first; it != last; ++it)
        if (!valid_token_list(it->value(), protocols))
            return "Invalid Sec-WebSocket-Protocol header";
    return {};
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

void start_raw_websocket(const std::shared_ptr<session_impl>& s, session_impl::framed_socket sock,
                         std::string response) {
    s->start();
    s->run_framed_websocket(std::move(sock), std::move(response));
}

/// The subprotocol a WebSocket handshake selects, like the reference (ws without `handleProtocols`): the
/// first one the client offers (the list was validated by websocket_request_error), or none.
std::string_view first_subprotocol(const request_type& req) {
    auto first = req[http::field::sec_websocket_protocol];
    first = first.substr(0, first.find(','));
    while (!first.empty() && (first.back() == ' ' || first.back() == '\t'))
        first.remove_suffix(1);
    while (!first.empty() && (first.front() == ' ' || first.front() == '\t'))
        first.remove_prefix(1);
    return first;
}

/// The 101 answer to a valid WebSocket request (websocket_request_error), as the reference (`ws`) writes
/// it: the accept key, the first subprotocol asked for, then the fields of the headers events (fields
/// holding a CR or LF are dropped).
std::string websocket_accept_response(const request_type& req, const header_list& fields) {
    // SHA-1 of the key and the RFC 6455 GUID, base64 (Beast's own: OpenSSL 3's one-shot SHA1() looks the
    // algorithm up on every call, which costs more than hashing 60 bytes).
    websocket::detail::sec_ws_accept_type accept;
    websocket::detail::make_sec_ws_accept(accept, req[http::field::sec_websocket_key]); // 24 chars (checked)
    std::string r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: ";
    r.append(accept.data(), accept.size());
    r += "\r\n";
    if (const auto protocol = first_subprotocol(req); !protocol.empty()) {
        r += "Sec-WebSocket-Protocol: ";
        r += protocol;
        r += "\r\n";
    }
    const auto unsafe = [](std::string_view v) { return v.find_first_of("\r\n") != std::string_view::npos; };
    for (const auto& [name, value] : fields.fields()) {
        if (name.empty() || unsafe(name) || unsafe(value))
            continue;
        r += name;
        r += ": ";
        r += value;
        r += "\r\n";
    }
    r += "\r\n";
    return r;
}

/// One HTTP connection.
class connection {
public:
    /// `tls_handshake`: the stream is TLS and its server handshake is still to be done.
    connection(std::shared_ptr<server_impl> server, std::shared_ptr<stream> s, beast::flat_buffer buffer = {},
               bool tls_handshake = false)
        : server_(std::move(server)), o_(server_->options_), stream_(std::move(s)),
          buffer_(std::move(buffer)), tls_handshake_(tls_handshake) {}
    ~connection() { server_->remove_connection(listed_); } // a coroutine destroyed while suspended
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

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

    net::awaitable<bool> handle(http::request_parser<http::empty_body>& parser);
    net::awaitable<bool> refuse(const request_type& req, refusal r, bool upgrade);
    net::awaitable<bool> handshake(const request_type& req, bool upgrade);
    net::awaitable<bool> poll_get(const request_type& req, std::shared_ptr<session_impl> s);
    net::awaitable<bool> poll_post(http::request_parser<http::empty_body>& parser,
                                   std::shared_ptr<session_impl> s);
    net::awaitable<bool> upgrade(const request_type& req, std::shared_ptr<session_impl> s);
    net::awaitable<bool> refuse_websocket(const request_type& req, std::string_view why);
    /// After the WebSocket handshake: no idle timeout (the heartbeat detects dead peers), and a closing
    /// handshake (ours or the peer's) waits at most `ping_timeout` for the peer, so a client that neither
    /// answers the close frame nor closes the TCP connection cannot pin the socket.
    void set_open_timeouts(ws_stream& ws) const;
    net::awaitable<bool> write(const request_type& req, http::status status, std::string body,
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
        return std::make_shared<tcp::socket>(stream_->tcp().release_socket());
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

net::awaitable<void> connection::run() {
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

net::awaitable<bool> connection::handle(http::request_parser<http::empty_body>& parser) {
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
        add_cors_headers(*o_.cors, req, h, true);
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
    if (!q.eio || *q.eio != "4") {
        boost::json::object ctx = kv("protocol", q.eio ? boost::json::value(*q.eio) : nullptr);
        co_return co_await refuse(
            req, refused(connection_error_code::unsupported_protocol_version, std::move(ctx)), is_upgrade);
    }
    co_return co_await handshake(req, is_upgrade);
}

net::awaitable<bool> connection::refuse(const request_type& req, refusal r, bool upgrade) {
    if (r.message.empty())
        r.message = std::string(error_message(r.code));
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

net::awaitable<std::optional<connection::refusal>> connection::check_allowed(const request_type&,
                                                                             const request_info& info) {
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

net::awaitable<bool> connection::handshake(const request_type& req, bool is_upgrade) {
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
    if (id.empty() || !server_->insert(s))
        co_return co_await refuse(
            req, refused(connection_error_code::bad_request, named("ID_GENERATION_ERROR")), is_upgrade);

    SIO_LOG(engine, debug, "handshaking client ", id, is_upgrade ? " (websocket)" : " (polling)");
    header_list initial;
    apply_headers_event(initial, req, true);
    if (o_.cookie) {
        const auto& c = *o_.cookie;
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
        initial.add("Set-Cookie", cookie);
    }

    if (is_upgrade && frames_itself()) {
        // The session writes the 101 and the open packet together, then frames the WebSocket itself.
        apply_headers_event(initial, req, false);
        std::string response = websocket_accept_response(req, initial);
        handed_over_ = true;
        net::dispatch(s->strand(), [s, sock = take_socket(), response = std::move(response)]() mutable {
            start_raw_websocket(s, std::move(sock), std::move(response));
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
    co_return co_await write(req, http::status::ok, std::move(r.body), "text/plain; charset=UTF-8",
                             std::move(initial), true);
}

net::awaitable<bool> connection::poll_get(const request_type& req, std::shared_ptr<session_impl> s) {
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
    co_return co_await write(req, http::status::ok, std::move(r.body), "text/plain; charset=UTF-8", {},
                             r.compress);
}

net::awaitable<bool> connection::poll_post(http::request_parser<http::empty_body>& header_parser,
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
    if (req[http::field::content_type].starts_with("application/octet-stream")) {
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
    const auto decode_error = decode_payload(parser.get().body(), o_.max_packets_per_payload, packets);
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

net::awaitable<bool> connection::upgrade(const request_type& req, std::shared_ptr<session_impl> s) {
    SIO_LOG(engine, debug, "upgrade request for session ", s->id());
    if (const auto why = websocket_request_error(req); !why.empty())
        co_return co_await refuse_websocket(req, why);
    if (buffer_.size() != 0)
        co_return co_await refuse_websocket(req, "Unexpected data before the WebSocket handshake");
    header_list none;
    if (frames_itself()) {
        apply_headers_event(none, req, false);
        std::string response = websocket_accept_response(req, none);
        handed_over_ = true;
        net::co_spawn(s->strand(), s->run_framed_upgrade(s, take_socket(), std::move(response)),
                      net::detached);
        co_return false;
    }
    auto ws = make_websocket(req, none);
    auto [ec] = co_await ws->async_accept(req, as_tuple_awaitable);
    if (ec)
        co_return false;
    handed_over_ = true;
    set_open_timeouts(*ws);
    net::co_spawn(s->strand(), s->run_beast_upgrade(s, ws), net::detached);
    co_return false;
}

net::awaitable<bool> connection::refuse_websocket(const request_type& req, std::string_view why) {
    // Like the reference's abortHandshake: a bare 400 with the reason, then the connection ends.
    header_list h;
    if (why.find("Version") != std::string_view::npos)
        h.set("Sec-WebSocket-Version", "13");
    co_await write(req, http::status::bad_request, std::string(why), "text/plain", std::move(h), false,
                   false);
    co_return false;
}

void connection::set_open_timeouts(ws_stream& ws) const {
    ws.set_option(websocket::stream_base::timeout{o_.ping_timeout, websocket::stream_base::none(), false});
}

std::shared_ptr<ws_stream> connection::make_websocket(const request_type& req, const header_list& extra) {
    // The headers event sees the request's peer, so it runs before the stream moves into the WebSocket.
    header_list h = extra;
    if (const auto protocol = first_subprotocol(req); !protocol.empty())
        h.add("Sec-WebSocket-Protocol", protocol);
    apply_headers_event(h, req, false);
    beast::get_lowest_layer(*stream_).expires_never();
    stream_->watch_close_frames(); // Beast answers a close reason that is not UTF-8 with 1002, not 1007
    auto ws = std::make_shared<ws_stream>(std::move(*stream_));
    ws->read_message_max(o_.max_http_buffer_size);
    ws->auto_fragment(false);
    if (o_.per_message_deflate) {
        websocket::permessage_deflate pmd;
        pmd.server_enable = true;
        pmd.server_max_window_bits = o_.per_message_deflate->server_max_window_bits;
        pmd.memLevel = o_.per_message_deflate->mem_level;
        pmd.client_max_window_bits = o_.per_message_deflate->client_max_window_bits;
        pmd.msg_size_threshold = o_.per_message_deflate->threshold;
        ws->set_option(pmd);
    }
    websocket::stream_base::timeout t{};
    t.handshake_timeout = o_.header_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws->set_option(t);
    if (!h.fields().empty()) {
        ws->set_option(websocket::stream_base::decorator([h = std::move(h)](websocket::response_type& res) {
            for (const auto& [name, value] : h.fields())
                res.insert(name, value);
        }));
    }
    return ws;
}

// `initial`: the initial_headers event (handshake responses); otherwise the headers event, which write()
// and make_websocket() emit once for every response, the handshake included.
void connection::apply_headers_event(header_list& h, const request_type& req, bool initial) {
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

net::awaitable<bool> connection::write(const request_type& req, http::status status, std::string body,
                                       std::string_view content_type, header_list extra, bool compressible,
                                       bool keep_alive) {
    http::response<http::string_body> res{status, req.version() ? req.version() : 11};
    if (!content_type.empty())
        res.set(http::field::content_type, content_type);
    if (o_.cors && req.method() != http::verb::options)
        add_cors_headers(*o_.cors, req, extra, false);
    if (status != http::status::no_content && req.version())
        apply_headers_event(extra, req, false);
    for (const auto& [name, value] : extra.fields())
        res.insert(name, value);
    if (compressible && o_.http_compression && body.size() >= o_.http_compression->threshold) {
        const auto accept = req[http::field::accept_encoding];
        const bool gzip = accept.find("gzip") != std::string_view::npos;
        const bool deflate = !gzip && accept.find("deflate") != std::string_view::npos;
        if (gzip || deflate) {
            if (std::string packed = compress(body, gzip); !packed.empty()) {
                body = std::move(packed);
                res.set(http::field::content_encoding, gzip ? "gzip" : "deflate");
            }
        }
    }
    res.body() = std::move(body);
    res.keep_alive(keep_alive && !body_unread_ && req.keep_alive());
    res.prepare_payload();
    stream_->tcp().expires_after(o_.body_timeout);
    auto [ec, n] = co_await http::async_write(*stream_, res, as_tuple_awaitable);
    co_return !ec && res.keep_alive();
}

net::awaitable<bool> connection::write_static(const request_type& req, static_reply reply, bool keep_alive) {
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

} // namespace

std::string compress(std::string_view in, bool gzip) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return {};
    std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? out : std::string{};
}

net::awaitable<void> serve_connection(std::shared_ptr<server_impl> server, tcp::socket socket,
                                      net::ssl::context* tls) {
    if (tls) {
        connection c(std::move(server), std::make_shared<stream>(std::move(socket), *tls), {}, true);
        co_await c.run();
    } else {
        connection c(std::move(server), std::make_shared<stream>(std::move(socket)));
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
    connection c(std::move(server), std::make_shared<stream>(std::move(s)), std::move(joined));
    co_await c.run();
}

bool path_matches(const server_impl& server, std::string_view target) {
    return path_matches(server.options_, target);
}

} // namespace sio::engineio::detail
