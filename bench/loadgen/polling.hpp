// The load generator's HTTP long-polling client (polling-only, never upgraded), the transport of the
// scenarios poll-conn, poll-echo and poll-bcast (the same scenarios as conn, echo and bcast, scenarios.hpp).
#pragma once

#include <memory>

#include "session.hpp"

namespace loadgen {

/// A new polling client of the run (not connected).
std::unique_ptr<client> make_poll_client(run_state& st);

} // namespace loadgen
