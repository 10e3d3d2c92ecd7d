// sio — an Engine.IO session as the application sees it.
#pragma once

#include <sio/config.hpp>
#include <sio/error.hpp>
#include <sio/options.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sio::engineio {

namespace detail {
class session_impl;
struct access;
} // namespace detail

enum class transport_kind { polling, websocket };

/// A message received from the client.
struct message {
    bool binary = false; ///< binary frame / `b` packet; otherwise UTF-8 text
    std::string data;
};

/// An immutable payload that many sessions may share (a broadcast is encoded once).
using shared_payload = std::shared_ptr<const std::string>;

/// One message of a batch (`session::send_batch`).
struct outgoing {
    shared_payload data;
    bool binary = false;
};

/// Per-message send flags.
struct send_options {
    bool binary = false;    ///< send as binary (WebSocket binary frame, `b` + base64 over polling)
    bool compress = true;   ///< allow permessage-deflate / HTTP compression for this message
    bool volatile_ = false; ///< drop instead of queueing when the transport cannot write right now
};

/// A handle to one Engine.IO session: cheap to copy, safe to keep after the session closed (sends then fail
/// with `sio::error::session_closed`).
///
/// Thread safety: every member function may be called from any thread. Handlers run on the session's
/// strand (`executor()`), one at a time, in the order the packets arrived. Register handlers from the
/// server's connection handler, before the session delivers anything.
class session {
public:
    session() = default;
    explicit session(std::shared_ptr<detail::session_impl> impl) noexcept : impl_(std::move(impl)) {}

    /// The session id (20 URL-safe characters by default). Treat it as a secret.
    const std::string& id() const noexcept;
    /// The transport in use now (changes once, from polling to websocket, on upgrade).
    transport_kind transport() const noexcept;
    /// The request that opened the session; any thread. Kept packed until first asked for: the first call
    /// allocates (and may throw `std::bad_alloc`), later calls return the same object.
    const request_info& request() const;
    /// The Engine.IO protocol revision the client speaks: 4, or 3 for a client admitted by
    /// `engine_options::allow_eio3`. Fixed for the session's life; any thread.
    int protocol() const noexcept;
    /// False once the session is closing or closed.
    bool is_open() const noexcept;
    /// The strand on which the session's handlers run: a strand of the server's executor (on an io_context,
    /// a `strand<io_context::executor_type>`, which copies without allocating).
    boost::asio::any_io_executor executor() const noexcept;

    /// Queues a message. Returns `sio::error::session_closed` when closed, `sio::error::queue_full` when the
    /// outgoing queue is full and the overflow policy is `fail` (or `disconnect`, which also closes it).
    std::error_code send(std::string data, send_options opts = {}) const;
    /// Queues a shared, pre-encoded message (no copy per recipient).
    std::error_code send(shared_payload data, send_options opts = {}) const;

    /// Queues several messages as one unit: they are accepted or refused together and stay adjacent and in
    /// order, whatever other threads send meanwhile (a Socket.IO packet and its binary attachments).
    /// `opts.binary` is ignored: each message says whether it is binary.
    std::error_code send_batch(std::vector<outgoing> messages, send_options opts = {}) const;

    /// Closes the session gracefully: queued packets are flushed first. `on_close` gets `forced_close`.
    void close() const;

    /// Called for every message, on the session's strand.
    void on_message(std::function<void(message&&)> handler) const;
    /// Called once when the session closes, on the session's strand, with the reason and a description.
    void on_close(std::function<void(close_reason, std::string_view description)> handler) const;

    explicit operator bool() const noexcept { return impl_ != nullptr; }
    friend bool operator==(const session& a, const session& b) noexcept { return a.impl_ == b.impl_; }

private:
    friend struct detail::access; // the library's own way in (the Socket.IO layer's listener)
    std::shared_ptr<detail::session_impl> impl_;
};

} // namespace sio::engineio
