// Private to the library: what a client of Socket.IO protocol v4 (socket.io-client 2.x and the clients of
// that generation, over Engine.IO v3; `engineio::session::protocol()` is 3) gets differently from a v5
// client. The client (`client.cpp`) asks these pure functions at its few seams: the namespace of a packet
// (its query string is the CONNECT's auth), the socket id, the CONNECT answer (no payload) and the
// CONNECT_ERROR payload. No I/O; safe from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sio::detail::protocol_v4 {

/// The most parameters a namespace's query string may carry; more closes the connection as a parse error.
inline constexpr std::size_t max_query_parameters = 1000;

/// A v4 packet's namespace split into the namespace proper and its query string.
struct split_namespace {
    std::string name;       ///< up to the first `?` or `#`
    std::string_view query; ///< between `?` and `#` (empty without `?`)
};

/// Splits `nsp` (e.g. `/chat?token=abc`) as a URL's path and query: `{"/chat", "token=abc"}`. A fragment
/// (`#...`) is dropped. The path is kept as written (no dot-segment or percent-encoding normalisation).
split_namespace split(std::string_view nsp);

/// The auth object a v4 client's CONNECT query string stands for, as the reference builds it: the
/// `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` decoded, malformed UTF-8 replaced by
/// U+FFFD), every value a string, a later parameter overriding an earlier one of the same name. Nullopt
/// when the query has more than `max_query_parameters` parameters.
std::optional<boost::json::object> query_auth(std::string_view query);

/// The id of a v4 client's socket: the Engine.IO session id for `/`, `<nsp>#<session id>` otherwise (the
/// id the client computes on its side).
std::string socket_id(std::string_view nsp, std::string_view session_id);

/// The payload of the CONNECT_ERROR (the v4 ERROR packet) that refuses a v4 client: a middleware error's
/// `data` when JavaScript would call it true (not null, false, 0, NaN or ""), else its `message` string.
boost::json::value connect_error_data(std::string_view message, const boost::json::value& data);

} // namespace sio::detail::protocol_v4
