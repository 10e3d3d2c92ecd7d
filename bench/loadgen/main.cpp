// sio_loadgen: the load generator of the benchmark contract (bench/README.md). It speaks raw Engine.IO v4 /
// Socket.IO v5 text frames over Beast WebSocket clients on one thread (Asio coroutines), verifies every ack
// and counts every delivery, and reads the server's CPU time (utime+stime) and VmRSS from /proc/<pid>/.
//
// Usage: sio_loadgen <scenario> --port P --pid PID [--label NAME] [options]
//   conn        --n N [--hold S] [--rooms K]            N idle connections (each in K rooms): server bytes
//                                                       per connection
//   echo        --clients C --payload B --duration S    closed-loop emit-with-ack: CPU per op, latency
//   bcast       --clients N --count M [--rounds R]      one trigger of M broadcasts per round: CPU per
//                                                       delivery
//   room-bcast  --clients N --count M [--rounds R]      same to a room holding every other client
//   churn       --parallel P --duration S [--max K]     connect + handshake + CONNECT + close loops
//   echo-conn   --n N [--inflight K] [--echo-thread 1]  one client echoes while N clients connect
//   poll-conn   --n N                                   N idle polling-only sessions: bytes per session
//   poll-echo   --clients C --duration S                echo over polling-only clients
//   poll-bcast  --clients N --count M [--rounds R]      broadcast to polling-only clients
//   cross-bcast --clients N --count M --rounds R --port2 P2 --pid2 PID2 [--redis-pid RP]   N clients on
//               the server at --port join "bench"; a client on the server at --port2 (same cluster) sends
//               room-bcast("bench", M, payload) R times: CPU of both servers per delivery, latency per round
//   soak        --clients N --minutes M [--tick-ms T --tick-bytes B --reconnect-pct R --mute-pct Q
//               --sources K --report-s S --mute-pong-s P --mute-rcvbuf BYTES]   long run against
//               `sio_bench_server --tick-ms T`: one JSON line per report (every S s), then the summary
//               (bench/soak.sh prints the table)
// Common: --payload B (bytes of the string payload, default 16), --timeout S (default 120), --parser msgpack
// (every scenario but soak: Socket.IO packets as socket.io-msgpack-parser's binary messages; the server must
// use that parser too).
// Prints one JSON object per run on stdout; exits 1 with a message on stderr when anything goes wrong
// (a wrong or missing ack or delivery, a refused or lost connection, the timeout).
//
// Files: options (the command line), report (server samples, percentiles, the JSON fields), session (the
// run loop and client of any transport), ws_client and polling (the transports), scenarios, cross_bcast and
// soak (the scenarios).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <cstdlib>
#include <iostream>

#include "options.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "session.hpp"
#include "ws_client.hpp"
#include <sys/resource.h>

using namespace loadgen;

namespace {

awaitable<void> run(run_state& st, const options& o, int pid, result& r, bool& ok) {
    try {
        if (o.scenario == "conn" || o.scenario == "poll-conn")
            co_await run_conn(st, o, pid, r);
        else if (o.scenario == "echo" || o.scenario == "poll-echo")
            co_await run_echo(st, o, pid, r);
        else if (o.scenario == "bcast" || o.scenario == "poll-bcast")
            co_await run_bcast(st, o, pid, r, false);
        else if (o.scenario == "room-bcast")
            co_await run_bcast(st, o, pid, r, true);
        else if (o.scenario == "churn")
            co_await run_churn(st, o, pid, r);
        else if (o.scenario == "echo-conn")
            co_await run_echo_conn(st, o, pid, r);
        else if (o.scenario == "cross-bcast")
            co_await run_cross_bcast(st, o, pid, r);
        else if (o.scenario == "soak")
            co_await run_soak(st, o, r);
        else
            throw std::runtime_error("unknown scenario: " + o.scenario);
        ok = st.failure.empty();
    } catch (const std::exception& e) {
        st.fail(e.what());
    }
    close_all(st);
    if (o.scenario == "soak")
        st.ioc.stop(); // its clients are left as they are: the process exits
}

awaitable<void> watchdog(run_state& st, std::chrono::seconds limit) {
    net::steady_timer t(st.ioc, limit);
    st.watchdog = &t;
    auto [ec] = co_await t.async_wait(tuple_awaitable);
    st.watchdog = nullptr;
    if (!ec) {
        st.fail("timed out after " + std::to_string(limit.count()) + " s");
        st.ioc.stop();
    }
}

} // namespace

int main(int argc, char** argv) {
    options o;
    if (!parse_options(argc, argv, o))
        return 2;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    net::io_context ioc(1);
    run_state st(ioc);
    if (o.scenario.rfind("poll-", 0) == 0)
        st.via = transport::polling;
    result r;
    bool ok = false;
    int pid = 0;
    try {
        msgpack_wire = o.str("parser", "json") == "msgpack";
        if (!msgpack_wire && o.str("parser", "json") != "json")
            throw std::runtime_error("--parser: json or msgpack");
        auto port = static_cast<unsigned short>(o.num("port", 3000, 1, 65535));
        pid = static_cast<int>(o.num("pid", 0, 1, 1 << 30));
        st.endpoint = tcp::endpoint(net::ip::make_address("127.0.0.1"), port);
        st.host = "127.0.0.1:" + std::to_string(port);
        sample(pid);
        const long default_limit = o.scenario == "soak" ? o.num("minutes", 30, 1, 24 * 60) * 60 + 600 : 120;
        auto limit = std::chrono::seconds(o.num("timeout", default_limit, 1, 24 * 3600 + 600));
        net::co_spawn(ioc, watchdog(st, limit), net::detached);
        net::co_spawn(ioc, run(st, o, pid, r, ok), net::detached);
        ioc.run();
    } catch (const std::exception& e) {
        st.failure = e.what();
    }
    if (o.scenario == "soak" && !r.fields.str().empty()) // the soak's summary, even when it failed
        std::cout << "{\"scenario\":\"soak\",\"server\":" << json_string(o.str("label", "server"))
                  << r.fields.str() << "}" << std::endl;
    if (!ok || !st.failure.empty()) {
        std::cerr << "sio_loadgen " << o.scenario << " (" << o.str("label", "server")
                  << "): FAILED: " << (st.failure.empty() ? std::string("did not finish") : st.failure)
                  << std::endl;
        std::_Exit(1); // handlers may still refer to the clients: no destructors on this path
    }
    if (o.scenario == "soak")
        std::_Exit(0); // thousands of clients are still open: no destructors
    std::cout << "{\"scenario\":" << json_string(o.scenario)
              << ",\"server\":" << json_string(o.str("label", "server")) << r.fields.str() << "}"
              << std::endl;
    return 0;
}
