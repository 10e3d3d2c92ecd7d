// sio — watching a server from inside: what instrumentation (the Admin UI, metrics) needs to see and the
// public API does not show as events.
#pragma once

#include <sio/config.hpp>
#include <sio/engineio/session.hpp>
#include <sio/error.hpp>
#include <sio/namespace.hpp>
#include <sio/socket.hpp>

namespace sio {

/// Receives the server's life events. Register with `server::observe` before `listen`; every hook has an
/// empty default. Hooks run on the thread that made the change and must not block; an exception they
/// throw is not caught (do not throw). A server without observers pays one empty-vector check per
/// namespace creation, socket connection and Engine.IO session open and close.
class server_observer {
public:
    virtual ~server_observer() = default;

    /// A namespace was created (also called by `observe` for the namespaces that exist already). Runs
    /// under the server's namespace table lock, before any socket can join it: register the adapter's
    /// room handlers here; do not call `server::of`.
    virtual void on_namespace(const namespace_& nsp) { (void)nsp; }
    /// A socket joined its namespace: on its strand, after its CONNECT answer was queued, before the
    /// namespace's connection handlers. Registering socket handlers (`on_any`, `on_disconnect`, ...) here
    /// is allowed.
    virtual void on_socket(const socket& s) { (void)s; }
    /// The connection of `s` upgraded from polling to WebSocket: called for each socket of the connection,
    /// on its strand.
    virtual void on_upgrade(const socket& s) { (void)s; }
    /// An Engine.IO session opened (after its handshake) / closed, on its strand.
    virtual void on_session_open(const engineio::session& s) { (void)s; }
    virtual void on_session_close(const engineio::session& s, engineio::close_reason reason) {
        (void)s;
        (void)reason;
    }
    /// The server started closing (`close` or the destructor): stop timers here.
    virtual void on_server_close() {}
};

} // namespace sio
