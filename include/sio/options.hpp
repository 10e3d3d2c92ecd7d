// sio — option structs with the defaults of the reference server (Node's engine.io 6.6 / socket.io 4.8).
#pragma once

#include <sio/config.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sio {

/// An ordered list of HTTP header fields (name, value). Names compare case-insensitively.
///
/// Compact: the names and values share one buffer, so a request's headers cost two allocations. Iterating
/// yields `field`s, views into the list that stay valid until it changes. Not synchronized.
class header_list {
public:
    using field = std::pair<std::string_view, std::string_view>;

    class const_iterator {
    public:
        using value_type = field;
        using difference_type = std::ptrdiff_t;
        const_iterator() = default;
        field operator*() const noexcept { return list_->at(index_); }
        const_iterator& operator++() noexcept {
            ++index_;
            return *this;
        }
        const_iterator operator++(int) noexcept { return const_iterator(list_, index_++); }
        bool operator==(const const_iterator& o) const noexcept { return index_ == o.index_; }

    private:
        friend class header_list;
        const_iterator(const header_list* list, std::size_t index) noexcept : list_(list), index_(index) {}
        const header_list* list_ = nullptr;
        std::size_t index_ = 0;
    };

    /// The value of the first field called `name`, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    /// Replaces every field called `name` by one field with `value`.
    void set(std::string_view name, std::string_view value);
    /// Appends a field (several `Set-Cookie` fields are allowed).
    void add(std::string_view name, std::string_view value);
    /// Removes every field called `name`.
    void erase(std::string_view name);
    /// Makes room for `fields` fields of `bytes` characters in all (names and values).
    void reserve(std::size_t fields, std::size_t bytes = 0);

    /// Field `i` (`i < size()`), in the order added.
    field at(std::size_t i) const noexcept {
        const auto& e = entries_[i];
        const std::string_view all(text_);
        return {all.substr(e.name_at, e.name_size), all.substr(e.name_at + e.name_size, e.value_size)};
    }
    const_iterator begin() const noexcept { return {this, 0}; }
    const_iterator end() const noexcept { return {this, entries_.size()}; }
    /// The fields as a range (the list itself): `for (auto [name, value] : headers.fields())`.
    const header_list& fields() const noexcept { return *this; }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }

private:
    struct entry {
        std::uint32_t name_at;
        std::uint32_t name_size;
        std::uint32_t value_size; // the value follows the name
    };
    std::string text_;
    std::vector<entry> entries_;
};

/// What the application sees of an HTTP request that reached the Engine.IO endpoint. A copy: safe to keep.
struct request_info {
    std::string method;         ///< "GET", "POST", ...
    std::string target;         ///< the request target, path and query, as received
    header_list headers;        ///< the request header fields
    std::string remote_address; ///< the peer's IP address
    bool secure = false;        ///< true over TLS

    /// The percent-decoded value of query parameter `name`, or nullopt.
    std::optional<std::string> query(std::string_view name) const;
};

/// Cross-origin resource sharing. When `engine_options::cors` is unset no CORS header is sent (reference
/// default).
struct cors_options {
    /// Allowed origins; `{"*"}` allows any origin. Ignored when `origin_predicate` is set.
    std::vector<std::string> origins{"*"};
    /// Decides per request origin; takes precedence over `origins`.
    std::function<bool(std::string_view origin)> origin_predicate;
    bool credentials = false;
    std::vector<std::string> methods{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"};
    /// Headers allowed in requests; empty reflects `Access-Control-Request-Headers`.
    std::vector<std::string> allowed_headers;
    std::vector<std::string> exposed_headers;
    std::optional<std::chrono::seconds> max_age;
};

/// The session cookie (`cookie: true` of the reference), set on the handshake response only.
struct cookie_options {
    std::string name = "io";
    std::string path = "/";
    bool http_only = true;
    std::string same_site = "Lax";
    bool secure = false;
    std::optional<std::chrono::seconds> max_age;
    std::string domain;
};

/// HTTP compression of polling responses (gzip/deflate, chosen from `Accept-Encoding`).
struct http_compression_options {
    std::size_t threshold = 1024; ///< responses smaller than this are sent as they are
};

/// permessage-deflate on WebSocket connections (off by default, like the reference).
///
/// Memory: each compressed connection keeps zlib state for its life, about
/// 2^(server_max_window_bits + 2) + 2^(mem_level + 9) bytes to compress and 2^client_max_window_bits to
/// inflate, plus a few KB: about 200 KB with the defaults (15, 8, 15), under 30 KB with (9, 1, 9)
/// (docs/engineio.md). Out-of-range values are refused when the server is built.
struct per_message_deflate_options {
    std::size_t threshold = 1024;    ///< messages smaller than this are not compressed
    int server_max_window_bits = 15; ///< 9..15: the window this server compresses with
    int mem_level = 8;               ///< 1..9: zlib's memory level for compressing
    /// 9..15: the largest window a client may compress with (asked of clients that offer the parameter,
    /// as browsers do); bounds the window this server inflates with.
    int client_max_window_bits = 15;
};

/// What to do when a session's outgoing queue is full.
enum class overflow_policy {
    fail,       ///< `send` returns `sio::error::queue_full`; the packet is not queued
    drop,       ///< the packet is silently dropped (the session goes on)
    disconnect, ///< the session is closed with `close_reason::queue_overflow`
};

/// The decision of an `allow_request` hook: allowed, or refused with a message (sent as code 4 "Forbidden").
struct allow_result {
    bool allowed = true;
    std::string message = "Forbidden";

    static allow_result allow() { return {}; }
    static allow_result deny(std::string msg = "Forbidden") { return {false, std::move(msg)}; }
};

/// Options of the Engine.IO server. Defaults are those of Node's engine.io 6.6 unless said otherwise.
struct engine_options {
    /// The endpoint path; requests whose path starts with it belong to Engine.IO.
    std::string path = "/engine.io";
    /// Accept `path` followed by a trailing slash (`/engine.io/`), like the reference.
    bool add_trailing_slash = true;

    std::chrono::milliseconds ping_interval{25000};
    std::chrono::milliseconds ping_timeout{20000};
    std::chrono::milliseconds upgrade_timeout{10000};
    /// Largest POST body and largest WebSocket message, in bytes; advertised as `maxPayload`.
    std::size_t max_http_buffer_size = 1'000'000;

    bool polling = true;   ///< offer the HTTP long-polling transport
    bool websocket = true; ///< offer the WebSocket transport
    bool allow_upgrades = true;
    /// Serve clients of the Engine.IO v3 protocol (`EIO=3`: socket.io-client 2.x and the mobile clients of
    /// that generation), as Node's `allowEIO3`. Off: their handshake is refused with connection_error code
    /// 5, "Unsupported protocol version". On: a request without `EIO=4` gets the v3 protocol (v3 payload
    /// framing, the client pings and the server answers) and, above it, the Socket.IO v4 protocol those
    /// clients speak. JSONP polling is not served.
    bool allow_eio3 = false;

    std::optional<cors_options> cors;
    std::optional<cookie_options> cookie;
    std::optional<http_compression_options> http_compression = http_compression_options{};
    std::optional<per_message_deflate_options> per_message_deflate;

    /// Called for every handshake (a request without `sid`); may suspend. Deny ⇒ 403 `{"code":4,...}`.
    std::function<boost::asio::awaitable<allow_result>(const request_info&)> allow_request;

    // Limits that the reference inherits from Node's HTTP server; explicit here.
    std::size_t max_header_bytes = 16 * 1024;        ///< request line + header fields
    std::size_t max_header_count = 100;              ///< header fields per request
    std::chrono::milliseconds header_timeout{10000}; ///< to receive a request's header
    std::chrono::milliseconds body_timeout{30000};   ///< to receive a POST body
    std::chrono::milliseconds idle_timeout{60000};   ///< keep-alive connection with no request
    std::size_t max_packets_per_payload = 10'000;    ///< packets in one POST body
    /// Frames of one fragmented WebSocket message; one more closes the connection with 1008.
    std::size_t max_ws_fragments = 4096;
    std::chrono::milliseconds polling_close_timeout{30000}; ///< a close packet waits this long for a GET

    // The per-session outgoing queue.
    std::size_t max_queued_bytes = 16 * 1024 * 1024;
    std::size_t max_queued_packets = 100'000;
    overflow_policy on_overflow = overflow_policy::disconnect;
};

} // namespace sio
