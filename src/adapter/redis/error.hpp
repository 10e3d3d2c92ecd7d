// Private to the library: the errors of the Redis connections, as `std::error_code` (category "sio.redis").
#pragma once

#include <system_error>

namespace sio::redis_detail {

/// The errors of the Redis connections (category "sio.redis").
enum class errc {
    closed = 1,       ///< the connection was closed (`close()` or its destructor)
    not_connected,    ///< the connection is down, waiting before it reconnects
    protocol_error,   ///< malformed RESP, nesting deeper than 7 arrays, or a reply nobody asked for
    reply_too_large,  ///< a reply (or a declared bulk / array length) exceeded `max_reply_bytes`, or
                      ///< its arrays declared more than `max_reply_elements` elements in all
    auth_failed,      ///< Redis refused AUTH
    select_failed,    ///< Redis refused SELECT
    subscribe_failed, ///< Redis answered a (P)SUBSCRIBE / (P)UNSUBSCRIBE with an error reply
    invalid_command,  ///< an empty command (it would get no reply and break the pipeline)
    command_timeout,  ///< a command got no reply within `command_timeout` (the connection is closed)
    queue_full,       ///< the outgoing queue holds `max_queued_bytes` already: the command is dropped
};

const std::error_category& redis_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), redis_category()};
}

} // namespace sio::redis_detail

template <>
struct std::is_error_code_enum<sio::redis_detail::errc> : std::true_type {};
