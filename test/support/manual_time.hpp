// Test support: a server whose protocol timers (heartbeats, the upgrade timeout, the Socket.IO connect,
// attachment and ack timeouts) wait on a clock the test moves, so that a test of a timeout runs in
// microseconds and cannot be failed by a stalled machine. The clock is the library's private test seam
// (src/manual_clock.hpp, src/engineio/test_hooks.hpp); a test binary using it adds src/ to its includes.
//
// Moving the clock posts what became due to the server's executors; the test then waits for the effect
// (a ping on the wire, a close) with the usual bounded reads.
#pragma once

#include <sio/engineio/server.hpp>

#include <functional>
#include <memory>

#include "engineio/test_hooks.hpp"
#include "manual_clock.hpp"

namespace sio_test {

using manual_clock = sio::detail::manual_clock;

/// A configure step for a test server: its timers run on `clock`. Before the server listens.
inline std::function<void(sio::engineio::server&)> on_clock(std::shared_ptr<manual_clock> clock) {
    return [clock = std::move(clock)](sio::engineio::server& s) {
        sio::engineio::detail::use_manual_clock(s, clock);
    };
}

} // namespace sio_test
