// The load generator's scenarios over connections of the run's transport: conn, echo, bcast, room-bcast
// (and their polling twins poll-conn, poll-echo, poll-bcast, which report a subset of the fields), churn and
// echo-conn (scenarios.hpp).
#include "scenarios.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include "ws_client.hpp"

namespace loadgen {

awaitable<void> run_conn(run_state& st, const options& o, int pid, result& r) {
    const bool polling = st.via == transport::polling;
    auto n = static_cast<std::size_t>(o.num("n", 1000, 1, polling ? 9000 : 19000));
    auto before = co_await quiet(st, pid);
    auto t0 = clock_type::now();
    co_await connect_all(st, n);
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    // `--rooms K` (WebSocket): then every socket joins the rooms "r0" .. "r<K-1>" (one join in flight per
    // client).
    const auto rooms = polling ? 0 : o.num("rooms", 0, 0, 100);
    for (long k = 0; k < rooms; ++k)
        co_await join_all(st, "r" + std::to_string(k));
    auto after = co_await quiet(st, pid);
    co_await st.sleep(std::chrono::milliseconds(300));
    after = sample(pid);
    const double grown = static_cast<double>(static_cast<std::int64_t>(after.rss_bytes) -
                                             static_cast<std::int64_t>(before.rss_bytes));
    r.add("n", n);
    if (polling) {
        r.add("bytes_per_session", grown / static_cast<double>(n));
        r.add("rss_before", static_cast<double>(before.rss_bytes));
        r.add("rss_after", static_cast<double>(after.rss_bytes));
    } else {
        r.add("rooms", rooms);
        r.add("bytes_per_conn", grown / static_cast<double>(n));
        r.add("rss_before", before.rss_bytes);
        r.add("rss_after", after.rss_bytes);
    }
    r.add("connects_per_s", static_cast<double>(n) / secs);
    r.add("cpu_us_per_connect",
          ticks_to_s(after.cpu_ticks - before.cpu_ticks) * 1e6 / static_cast<double>(n));
    if (!polling)
        r.add("server_threads", after.threads);
    // Profiling: keep the connections open a while (heaptrack a server, then stop it meanwhile).
    if (const auto hold = o.num("hold", 0, 0, 3600))
        co_await st.sleep(std::chrono::seconds(hold));
}

awaitable<void> run_echo(run_state& st, const options& o, int pid, result& r) {
    const bool polling = st.via == transport::polling;
    auto n = static_cast<std::size_t>(o.num("clients", 10, 1, polling ? 9000 : 19000));
    auto payload = make_payload(o.num("payload", 16, 0, 1'000'000));
    auto duration = std::chrono::milliseconds(o.num("duration", 5, 1, 600) * 1000);
    st.max_ops = static_cast<std::uint64_t>(o.num("max", 50'000'000, 1, 50'000'000));
    co_await connect_all(st, n);
    st.latencies_us.reserve(std::min<std::uint64_t>(st.max_ops, 20'000'000));
    auto before = co_await quiet(st, pid);
    auto t0 = clock_type::now();
    st.deadline = t0 + duration;
    st.echo_active = n;
    for (auto& c : st.clients) {
        c->echo_payload = payload;
        send_echo(*c);
    }
    while (st.echo_active > 0)
        co_await st.wait();
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto after = co_await quiet(st, pid, std::chrono::milliseconds(1000));
    auto cpu = ticks_to_s(after.cpu_ticks - before.cpu_ticks);
    r.add("clients", n);
    if (!polling)
        r.add("payload", o.num("payload", 16, 0, 1'000'000));
    r.add("ops", st.ops);
    r.add("duration_s", secs);
    r.add("server_cpu_s", cpu);
    r.add("cpu_s_per_100k", cpu / static_cast<double>(st.ops) * 1e5);
    r.add("ops_per_s", static_cast<double>(st.ops) / secs);
    r.add("p50_us", percentile(st.latencies_us, 0.5));
    r.add("p99_us", percentile(st.latencies_us, 0.99));
    if (polling)
        co_return;
    r.add("p999_us", percentile(st.latencies_us, 0.999));
    r.add("server_threads", after.threads);
}

awaitable<void> run_bcast(run_state& st, const options& o, int pid, result& r, bool room) {
    const bool polling = st.via == transport::polling;
    auto n = static_cast<std::size_t>(o.num("clients", 100, room ? 2 : 1, polling ? 9000 : 19000));
    auto count = static_cast<std::uint64_t>(o.num("count", 10, 1, 100'000));
    auto rounds = static_cast<std::uint64_t>(o.num("rounds", 1, 1, polling ? 100'000 : 1'000'000));
    auto payload = make_payload(o.num("payload", 16, 0, 1'000'000));
    if (static_cast<double>(n) * static_cast<double>(count) * static_cast<double>(rounds) > 2e9)
        throw std::runtime_error("clients x count x rounds is too large");
    st.expected_msg = "42[\"msg\"," + payload + "]";
    st.offsets = !polling && o.num("offsets", 0, 0, 1) != 0;
    co_await connect_all(st, n);
    std::size_t members = n;
    if (room) {
        // Every other client joins the room "bench"; the trigger (client 0) is a member.
        for (std::size_t i = 0; i < n; ++i)
            st.clients[i]->member = i % 2 == 0;
        members = (n + 1) / 2;
        co_await join_all(st, "bench");
    }
    auto& trigger = *st.clients[0];
    // `--echo 1`: the last client (a member too) runs a closed echo loop while the broadcasts run.
    const bool with_echo = !polling && o.num("echo", 0, 0, 1) == 1 && n >= 2;
    auto before = co_await quiet(st, pid);
    auto t0 = clock_type::now();
    if (with_echo) {
        auto& e = *st.clients[n - 1];
        e.echo_payload = payload;
        st.deadline = clock_type::time_point::max();
        st.max_ops = UINT64_MAX / 2;
        st.echo_active = 1;
        send_echo(e);
    }
    double first_us = 0;
    for (std::uint64_t k = 0; k < rounds; ++k) {
        st.remaining = members * count;
        st.trigger_acked = false;
        st.first_seen = k != 0;
        st.trigger_sent = clock_type::now();
        auto id = trigger.next_id++;
        trigger.pending = pending_ack::trigger;
        if (room)
            trigger.send("42" + std::to_string(id) + "[\"room-bcast\",\"bench\"," + std::to_string(count) +
                         "," + payload + "]");
        else
            trigger.send("42" + std::to_string(id) + "[\"bcast\"," + std::to_string(count) + "," + payload +
                         "]");
        while (st.remaining > 0 || !st.trigger_acked)
            co_await st.wait();
        if (k == 0)
            first_us = std::chrono::duration<double, std::micro>(st.first_delivery - st.trigger_sent).count();
    }
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (with_echo) {
        st.deadline = clock_type::now(); // the echo in flight is the last one
        while (st.echo_active > 0)
            co_await st.wait();
    }
    auto after = co_await quiet(st, pid, std::chrono::milliseconds(1000));
    auto cpu = ticks_to_s(after.cpu_ticks - before.cpu_ticks);
    double deliveries =
        static_cast<double>(members) * static_cast<double>(count) * static_cast<double>(rounds);
    r.add("clients", n);
    if (!polling)
        r.add("members", members);
    r.add("count", count);
    r.add("rounds", rounds);
    r.add("deliveries", static_cast<std::uint64_t>(deliveries));
    r.add("duration_s", secs);
    r.add("server_cpu_s", cpu);
    r.add("cpu_us_per_1k", cpu * 1e6 / deliveries * 1000);
    r.add("deliveries_per_s", deliveries / secs);
    r.add("first_delivery_us", first_us);
    if (polling)
        co_return;
    r.add("server_threads", after.threads);
    if (with_echo) {
        r.add("echo_ops", st.ops);
        r.add("echo_p50_us", percentile(st.latencies_us, 0.5));
        r.add("echo_p99_us", percentile(st.latencies_us, 0.99));
        r.add("echo_max_us", st.latencies_us.empty()
                                 ? 0u
                                 : *std::max_element(st.latencies_us.begin(), st.latencies_us.end()));
    }
}

// The echo client of `echo-conn --echo-thread 1`, on its own io_context and thread: connects, reports
// `ready`, echoes from the moment the main thread posts the start until it posts the stop.
awaitable<void> echo_side(run_state& est, std::atomic<int>& phase, bool& started) {
    try {
        co_await connect_all(est, 1);
        est.clients[0]->echo_payload = make_payload(16);
        phase = 1;
        while (!started || est.echo_active > 0)
            co_await est.wait();
    } catch (const std::exception& e) {
        est.fail(e.what());
    }
    close_all(est);
    phase = 2;
}

// `echo-conn --echo-thread 1`: as below, with the echo client on a thread of its own, so that its latency
// is the server's and not the load generator's own queue of thousands of handshakes.
awaitable<void> run_echo_conn_thread(run_state& st, std::size_t n, std::size_t inflight, int pid, result& r) {
    net::io_context eioc(1);
    run_state est(eioc);
    est.endpoint = st.endpoint;
    est.host = st.host;
    std::atomic<int> phase{0};
    bool started = false; // the echo thread's
    net::co_spawn(eioc, echo_side(est, phase, started), net::detached);
    std::thread echo_thread([&eioc] { eioc.run(); });
    while (phase == 0)
        co_await st.sleep(std::chrono::milliseconds(10));
    auto before = co_await quiet(st, pid);
    net::post(eioc, [&] {
        est.deadline = clock_type::time_point::max();
        est.max_ops = UINT64_MAX / 2;
        est.echo_active = 1;
        started = true;
        if (phase == 1)
            send_echo(*est.clients[0]);
        else
            est.echo_active = 0;
    });
    auto t0 = clock_type::now();
    for (std::size_t i = 0; i < n; ++i)
        st.clients.push_back(make_client(st));
    for (std::size_t i = 0; i < std::min(n, inflight); ++i)
        net::co_spawn(st.ioc, connect_worker(st), net::detached);
    while (st.connect_done < n && st.failure.empty())
        co_await st.wait();
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    net::post(eioc, [&] { est.deadline = clock_type::now(); }); // the echo in flight is the last one
    while (phase != 2)
        co_await st.sleep(std::chrono::milliseconds(5));
    echo_thread.join();
    if (!est.failure.empty())
        throw std::runtime_error("echo client: " + est.failure);
    auto after = co_await quiet(st, pid, std::chrono::milliseconds(1000));
    r.add("n", n);
    r.add("inflight", inflight);
    r.add("echo_thread", 1);
    r.add("connects_per_s", static_cast<double>(n) / secs);
    r.add("cpu_us_per_connect",
          ticks_to_s(after.cpu_ticks - before.cpu_ticks) * 1e6 / static_cast<double>(n));
    r.add("echo_ops", est.ops);
    r.add("echo_p50_us", percentile(est.latencies_us, 0.5));
    r.add("echo_p99_us", percentile(est.latencies_us, 0.99));
    r.add("echo_max_us", est.latencies_us.empty()
                             ? 0u
                             : *std::max_element(est.latencies_us.begin(), est.latencies_us.end()));
    r.add("server_threads", after.threads);
}

// `echo-conn`: one client echoes (closed loop) while `--n` clients connect with `--inflight` handshakes in
// flight (all at once by default): the echo's latency during a connect burst.
awaitable<void> run_echo_conn(run_state& st, const options& o, int pid, result& r) {
    auto n = static_cast<std::size_t>(o.num("n", 5000, 1, 19000));
    auto inflight = static_cast<std::size_t>(o.num("inflight", static_cast<long>(n), 1, 19000));
    if (o.num("echo-thread", 0, 0, 1) == 1)
        co_return co_await run_echo_conn_thread(st, n, inflight, pid, r);
    co_await connect_all(st, 1);
    auto& e = *st.clients[0];
    e.echo_payload = make_payload(16);
    auto before = co_await quiet(st, pid);
    st.deadline = clock_type::time_point::max();
    st.max_ops = UINT64_MAX / 2;
    st.echo_active = 1;
    send_echo(e);
    auto t0 = clock_type::now();
    for (std::size_t i = 0; i < n; ++i)
        st.clients.push_back(make_client(st));
    st.connect_done = 1;
    for (std::size_t i = 0; i < std::min(n, inflight); ++i)
        net::co_spawn(st.ioc, connect_worker(st), net::detached);
    while (st.connect_done < n + 1)
        co_await st.wait();
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    st.deadline = clock_type::now();
    while (st.echo_active > 0)
        co_await st.wait();
    auto after = co_await quiet(st, pid, std::chrono::milliseconds(1000));
    r.add("n", n);
    r.add("inflight", inflight);
    r.add("connects_per_s", static_cast<double>(n) / secs);
    r.add("cpu_us_per_connect",
          ticks_to_s(after.cpu_ticks - before.cpu_ticks) * 1e6 / static_cast<double>(n));
    r.add("echo_ops", st.ops);
    r.add("echo_p50_us", percentile(st.latencies_us, 0.5));
    r.add("echo_p99_us", percentile(st.latencies_us, 0.99));
    r.add("echo_max_us",
          st.latencies_us.empty() ? 0u : *std::max_element(st.latencies_us.begin(), st.latencies_us.end()));
    r.add("server_threads", after.threads);
}

struct churn_state {
    std::uint64_t started = 0;
    std::uint64_t done = 0;
    std::uint64_t max = 0;
    std::size_t active = 0;
    clock_type::time_point deadline{};
};

awaitable<void> churn_worker(run_state& st, churn_state& cs) {
    while (st.failure.empty() && clock_type::now() < cs.deadline && cs.started < cs.max) {
        ++cs.started;
        ws_client c(st);
        auto t0 = clock_type::now();
        try {
            co_await c.handshake();
        } catch (const std::exception& e) {
            st.fail(std::string("handshake failed: ") + e.what());
            break;
        }
        st.latencies_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count()));
        ++cs.done;
        c.close();
    }
    if (--cs.active == 0)
        st.wake();
}

awaitable<void> run_churn(run_state& st, const options& o, int pid, result& r) {
    churn_state cs;
    auto parallel = static_cast<std::size_t>(o.num("parallel", 8, 1, 256));
    cs.max = static_cast<std::uint64_t>(o.num("max", 20'000, 1, 200'000));
    auto before = co_await quiet(st, pid);
    auto t0 = clock_type::now();
    cs.deadline = t0 + std::chrono::milliseconds(o.num("duration", 5, 1, 600) * 1000);
    cs.active = parallel;
    for (std::size_t i = 0; i < parallel; ++i)
        net::co_spawn(st.ioc, churn_worker(st, cs), net::detached);
    while (cs.active > 0)
        co_await st.wait();
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto after = co_await quiet(st, pid, std::chrono::milliseconds(1000));
    auto cpu = ticks_to_s(after.cpu_ticks - before.cpu_ticks);
    r.add("parallel", parallel);
    r.add("handshakes", cs.done);
    r.add("duration_s", secs);
    r.add("server_cpu_s", cpu);
    r.add("cpu_us_per_handshake", cpu * 1e6 / static_cast<double>(cs.done));
    r.add("handshakes_per_s", static_cast<double>(cs.done) / secs);
    r.add("p50_us", percentile(st.latencies_us, 0.5));
    r.add("p99_us", percentile(st.latencies_us, 0.99));
    r.add("server_threads", after.threads);
}

} // namespace loadgen
