// sio — error codes, Engine.IO handshake error codes and close reasons.
//
// Errors are values: every failure is a `std::error_code` in the `sio` category (or a system/Asio
// code). Nothing here allocates or throws.
#pragma once

#include <sio/config.hpp>

#include <string_view>
#include <system_error>

namespace sio {

/// Errors produced by the library itself.
enum class error {
    parse_error = 1,      ///< malformed packet or payload
    payload_too_large,    ///< a body or message exceeded `max_http_buffer_size`
    too_many_packets,     ///< a polling payload carried more packets than allowed
    queue_full,           ///< the session's outgoing queue is full (overflow policy `fail`)
    session_closed,       ///< the session is closed; nothing can be sent any more
    invalid_argument,     ///< an API precondition was violated
    duplicate_session_id, ///< `generate_id` returned an id that is already in use
    ack_timeout,          ///< no acknowledgement within the timeout ("operation has timed out")
    not_connected,        ///< the socket is not connected (any more)
    reserved_event,       ///< the event name is reserved (`connect`, `connection`, `new_namespace`)
    cluster_timeout,      ///< some servers of the cluster did not answer within the request timeout
    adapter_closed,       ///< the adapter is closed; the request cannot be sent or answered
    /// A Socket.IO packet the connection's state does not allow (a second CONNECT for a namespace, a packet
    /// for a namespace not joined): the connection closes and its sockets see
    /// `disconnect_reason::forced_server_close` ("forced server close", the reference's reason).
    protocol_violation,
    /// The client joined no namespace within `server_options::connect_timeout`: the connection closes.
    connect_timeout,
};

/// The `std::error_category` of `sio::error`.
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

} // namespace sio

template <>
struct std::is_error_code_enum<sio::error> : std::true_type {};

namespace sio::engineio {

/// The Engine.IO handshake error codes, sent to the client as `{"code":N,"message":"..."}` and passed to the
/// `connection_error` event. The numeric values and messages are those of the reference server.
enum class connection_error_code : int {
    unknown_transport = 0,            ///< "Transport unknown"
    unknown_sid = 1,                  ///< "Session ID unknown"
    bad_handshake_method = 2,         ///< "Bad handshake method"
    bad_request = 3,                  ///< "Bad request"
    forbidden = 4,                    ///< "Forbidden"
    unsupported_protocol_version = 5, ///< "Unsupported protocol version"
};

/// The reference message of a handshake error code.
std::string_view error_message(connection_error_code code) noexcept;

/// Why an Engine.IO session closed. The strings (`to_string`) are those of the reference server.
enum class close_reason {
    transport_close,     ///< "transport close": the client went away or sent a close packet
    transport_error,     ///< "transport error": I/O error, protocol violation or size limit
    parse_error,         ///< "parse error": a packet could not be decoded
    ping_timeout,        ///< "ping timeout": no pong within `ping_timeout`
    forced_close,        ///< "forced close": closed by the application
    forced_server_close, ///< "forced server close": the server was shut down (Socket.IO sockets see
                         ///< `disconnect_reason::server_shutting_down`)
    queue_overflow,      ///< "queue overflow": the outgoing queue was full (overflow policy `disconnect`)
};

/// The reference string of a close reason.
std::string_view to_string(close_reason reason) noexcept;

} // namespace sio::engineio
