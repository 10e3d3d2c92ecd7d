// sio — broadcast operators: `io.to("room").except("other").volatile_().emit(...)`.
#pragma once

#include <sio/socket.hpp>
#include <sio/value.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sio {

namespace detail {
class namespace_impl;
}

/// The answers of a broadcast with acknowledgements.
struct broadcast_ack_result {
    std::error_code error;            ///< `sio::error::ack_timeout` when some client did not answer in time
    std::vector<arguments> responses; ///< one per client that answered, in arrival order
};

/// Which sockets a broadcast reaches, and how. Immutable: each operator returns a new value.
struct broadcast_flags {
    std::vector<std::string> rooms;  ///< empty: every socket of the namespace
    std::vector<std::string> except; ///< sockets in any of these rooms are skipped
    bool local = false;
    bool volatile_ = false;
    bool compress = true;
    std::optional<std::chrono::milliseconds> timeout;
};

/// A set of sockets to emit to. Thread-safe: emit from any thread. The packet is encoded once, whatever the
/// number of recipients (except with acknowledgements: each recipient has its own ack id).
class broadcast_operator {
public:
    broadcast_operator(std::shared_ptr<detail::namespace_impl> nsp, broadcast_flags flags = {})
        : nsp_(std::move(nsp)), flags_(std::move(flags)) {}

    broadcast_operator to(std::string room) const;
    broadcast_operator to(const std::vector<std::string>& rooms) const;
    broadcast_operator in(std::string room) const { return to(std::move(room)); }
    broadcast_operator in(const std::vector<std::string>& rooms) const { return to(rooms); }
    broadcast_operator except(std::string room) const;
    broadcast_operator except(const std::vector<std::string>& rooms) const;
    broadcast_operator local() const;
    broadcast_operator volatile_() const;
    broadcast_operator compress(bool on) const;
    broadcast_operator timeout(std::chrono::milliseconds t) const;

    template <class... Args>
    void emit(std::string_view event, Args&&... args) const {
        emit_arguments(event, make_arguments(std::forward<Args>(args)...));
    }
    void emit_arguments(std::string_view event, arguments args) const;

    /// Emits and collects every recipient's acknowledgement; needs `timeout(...)`. On timeout the result
    /// holds `sio::error::ack_timeout` and the answers received so far.
    template <class... Args>
    [[nodiscard]] boost::asio::awaitable<broadcast_ack_result> emit_with_ack(std::string_view event,
                                                                             Args&&... args) const {
        return emit_with_ack_arguments(std::string(event), make_arguments(std::forward<Args>(args)...));
    }
    /// The awaitable owns copies of everything it needs: the operator may be a temporary.
    [[nodiscard]] boost::asio::awaitable<broadcast_ack_result> emit_with_ack_arguments(std::string event,
                                                                                       arguments args) const;

    /// The local sockets this operator selects.
    std::vector<socket> sockets() const;

    const broadcast_flags& flags() const noexcept { return flags_; }

private:
    static boost::asio::awaitable<broadcast_ack_result>
    emit_with_ack_impl(std::shared_ptr<detail::namespace_impl> nsp, broadcast_flags flags, std::string event,
                       arguments args);

    std::shared_ptr<detail::namespace_impl> nsp_;
    broadcast_flags flags_;
};

} // namespace sio
