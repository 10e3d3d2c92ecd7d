// The WebSocket side of an HTTP connection: validating a WebSocket request, the 101 the session writes when
// it frames the WebSocket itself, and Beast's websocket::stream (TLS, permessage-deflate negotiation) when
// it does not.
#include "websocket_accept.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <unordered_set>

#include "../log.hpp"
#include "beast_detail.hpp"

namespace sio::engineio::detail {

namespace http = beast::http;
namespace websocket = beast::websocket;
using net::use_awaitable;
using net::ip::tcp;
constexpr auto as_tuple_awaitable = net::as_tuple(use_awaitable);

namespace {

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

} // namespace

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

std::string websocket_accept_response(const request_type& req, const header_list& fields) {
    std::string r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: ";
    append_websocket_accept(r, req[http::field::sec_websocket_key]); // the key has 24 chars (checked)
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

net::awaitable<bool> http_connection::upgrade(const request_type& req, std::shared_ptr<session_impl> s) {
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

net::awaitable<bool> http_connection::refuse_websocket(const request_type& req, std::string_view why) {
    // Like the reference's abortHandshake: a bare 400 with the reason, then the connection ends.
    header_list h;
    if (why.find("Version") != std::string_view::npos)
        h.set("Sec-WebSocket-Version", "13");
    co_await write(req, http::status::bad_request, std::string(why), "text/plain", std::move(h), false,
                   false);
    co_return false;
}

void http_connection::set_open_timeouts(ws_stream& ws) const {
    ws.set_option(websocket::stream_base::timeout{o_.ping_timeout, websocket::stream_base::none(), false});
}

std::shared_ptr<ws_stream> http_connection::make_websocket(const request_type& req,
                                                           const header_list& extra) {
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

} // namespace sio::engineio::detail
