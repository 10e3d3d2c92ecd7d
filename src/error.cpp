#include <sio/error.hpp>

#include <string>

namespace sio {
namespace {

class sio_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "sio"; }
    std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::parse_error:
            return "parse error";
        case error::payload_too_large:
            return "payload too large";
        case error::too_many_packets:
            return "too many packets in one payload";
        case error::queue_full:
            return "outgoing queue full";
        case error::session_closed:
            return "session closed";
        case error::invalid_argument:
            return "invalid argument";
        case error::duplicate_session_id:
            return "duplicate session id";
        case error::ack_timeout:
            return "operation has timed out";
        case error::not_connected:
            return "socket is not connected";
        case error::reserved_event:
            return "reserved event name";
        case error::cluster_timeout:
            return "timeout reached: some servers did not answer";
        case error::adapter_closed:
            return "adapter closed";
        case error::protocol_violation:
            return "packet not allowed in the connection's state";
        case error::connect_timeout:
            return "no namespace joined in time";
        }
        return "unknown sio error";
    }
};

} // namespace

const std::error_category& error_category() noexcept {
    static const sio_category category;
    return category;
}

} // namespace sio

namespace sio::engineio {

std::string_view error_message(connection_error_code code) noexcept {
    switch (code) {
    case connection_error_code::unknown_transport:
        return "Transport unknown";
    case connection_error_code::unknown_sid:
        return "Session ID unknown";
    case connection_error_code::bad_handshake_method:
        return "Bad handshake method";
    case connection_error_code::bad_request:
        return "Bad request";
    case connection_error_code::forbidden:
        return "Forbidden";
    case connection_error_code::unsupported_protocol_version:
        return "Unsupported protocol version";
    }
    return "Bad request";
}

std::string_view to_string(close_reason reason) noexcept {
    switch (reason) {
    case close_reason::transport_close:
        return "transport close";
    case close_reason::transport_error:
        return "transport error";
    case close_reason::parse_error:
        return "parse error";
    case close_reason::ping_timeout:
        return "ping timeout";
    case close_reason::forced_close:
        return "forced close";
    case close_reason::forced_server_close:
        return "forced server close";
    case close_reason::queue_overflow:
        return "queue overflow";
    }
    return "transport error";
}

} // namespace sio::engineio
