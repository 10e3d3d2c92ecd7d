// Private to the library: how the layer above (the Socket.IO client) receives a session's messages and its
// close, without the two std::function hooks of the public `session::on_message` / `session::on_close`.
#pragma once

#include <sio/engineio/session.hpp>

#include <memory>
#include <string_view>

namespace sio::engineio::detail {

/// Receives one session's messages and its close, on the session's strand. The session holds its listener
/// until it closes (or is abandoned), so a listener that holds the session forms a cycle the close breaks.
class session_listener {
public:
    virtual ~session_listener() = default;
    /// A message arrived. May close the session; the listener stays alive until it returns.
    virtual void on_message(message&& m) = 0;
    /// The session closed; called once, after which the session holds the listener no more.
    virtual void on_close(close_reason reason, std::string_view description) = 0;
    /// The session's transport became WebSocket (an upgrade from polling completed). Must not close the
    /// session.
    virtual void on_upgrade() {}
};

/// Replaces the listener of `s` (and the public hooks, which are a listener too). From the session's
/// strand it takes effect at once, else once the strand runs it. Null `s`: nothing.
void set_listener(const session& s, std::shared_ptr<session_listener> listener);

} // namespace sio::engineio::detail
