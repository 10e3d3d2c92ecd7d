// Private to the library, for its tests: what a test may change in a server that users cannot.
#pragma once

#include <sio/engineio/server.hpp>

#include <memory>

#include "../manual_clock.hpp"

namespace sio::engineio::detail {

/// The server's protocol timers (heartbeats, the upgrade timeout) read `clock` and wait on it from now on,
/// instead of the steady clock. Call before the server listens or accepts (no session may exist yet).
void use_manual_clock(server& s, std::shared_ptr<sio::detail::manual_clock> clock);

} // namespace sio::engineio::detail
