// Private to the library: the way in to the state behind the public handles `sio::engineio::server` and
// `sio::engineio::session`, and the few engine operations the Socket.IO layer needs beyond the public API.
// The handles declare `access` a friend and expose no accessor, so code outside the library cannot reach
// their internals.
#pragma once

#include <sio/engineio/server.hpp>
#include <sio/engineio/session.hpp>

#include <chrono>
#include <functional>
#include <memory>

#include "static_route.hpp"

namespace sio::detail {
class manual_clock;
} // namespace sio::detail
namespace sio::metrics_detail {
class registry;
} // namespace sio::metrics_detail

namespace sio::engineio::detail {

class server_impl;
class session_impl;

/// The shared state behind a public handle.
struct access {
    static const std::shared_ptr<server_impl>& impl(const server& s) noexcept { return s.impl_; }
    static const std::shared_ptr<session_impl>& impl(const session& s) noexcept { return s.impl_; }
};

/// The manual clock a test gave the session's server (test_hooks.hpp), else null (always, outside tests):
/// for the timers of the layers above, with wait_after (manual_clock.hpp).
sio::detail::manual_clock* manual_clock_of(const session& s) noexcept;

/// Serves the requests `route` answers before Engine.IO routing (the Socket.IO server's client bundle).
/// Call before the server listens or accepts: connections read it without a lock.
void set_static_route(server& s, static_route route);

/// Counts into `r` (src/metrics/); call before the server listens or accepts.
void set_metrics(server& s, std::shared_ptr<sio::metrics_detail::registry> r);
/// The registry of the session's server, or null when metrics are off.
sio::metrics_detail::registry* metrics_of(const session& s) noexcept;

/// Stops accepting and closes each session once its queued packets are written; after `deadline` what is
/// left is closed at once. `done` runs (on a strand of the server's executor) once every session is gone; a
/// second call only adds its `done`. Any thread.
void close_gracefully(server& s, std::chrono::milliseconds deadline, std::function<void()> done);

/// Queues `messages` as one unit (as `session::send_batch`), or refuses them all with `error::queue_full`
/// when they do not fit the outgoing queue, whatever `engine_options::on_overflow` says: nothing is dropped
/// and the session stays open (the caller decides; `close_overflowed`). Any thread.
std::error_code send_whole(const session& s, std::vector<outgoing> messages, send_options opts = {});
/// Closes the session with `close_reason::queue_overflow`, as the `disconnect` policy does. Any thread; on
/// the session's strand the close (and the listener's `on_close`) runs before it returns.
void close_overflowed(const session& s);

/// Back-pressure (strand of `s` only): stops reading from the session's client until release_reading
/// (session_impl::hold_reading). Not counted: the layer above has one holder per session (its client).
void hold_reading(const session& s) noexcept;
void release_reading(const session& s);

} // namespace sio::engineio::detail
