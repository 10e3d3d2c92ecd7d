// The health check of a test server as a load balancer sees it: `GET /healthz` on the server's port (the
// options get the endpoint from `with_health_check`), and a poll until it answers with a given status (the
// adapters notice a lost Redis asynchronously: polling the endpoint is the observation, not a
// synchronisation with the server).
#pragma once

#include <sio/sio.hpp>

#include <thread>

#include "sio_loopback.hpp"

namespace sio_test {

/// `o` with `/healthz` served (and no `/metrics`).
inline sio::server_options& with_health_check(sio::server_options& o) {
    sio::metrics_options m;
    m.health_endpoint = "/healthz";
    o.metrics = m;
    return o;
}

/// The status of `GET /healthz` on `server`.
inline unsigned health_status(sio_server& server) {
    net::io_context ioc;
    test_client c(ioc, server.port());
    return c.request(get_request("/healthz")).result_int();
}

/// Polls `GET /healthz` until it answers `status` (true) or `limit` passed (false).
inline bool wait_health(sio_server& server, unsigned status, duration limit = 10s) {
    for (const auto deadline = clock_type::now() + limit; clock_type::now() < deadline;) {
        if (health_status(server) == status)
            return true;
        std::this_thread::sleep_for(10ms); // polling the endpoint, not synchronising
    }
    return health_status(server) == status;
}

} // namespace sio_test
