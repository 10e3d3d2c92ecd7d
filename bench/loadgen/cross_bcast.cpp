// The load generator's scenario cross-bcast (scenarios.hpp): a broadcast that crosses the cluster (two
// servers on one Redis, bench/cross.py). The N clients on server A (--port, --pid) join the room "bench"; a
// trigger client on server B (--port2, --pid2), not in the room, sends `room-bcast("bench", M, payload)` R
// times, one round at a time: every delivery goes through the adapter. CPU is both servers' (Redis's apart
// with --redis-pid); latency is per round, from the trigger's send to the first and to the last delivery
// on A.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "scenarios.hpp"
#include "ws_client.hpp"

namespace loadgen {
namespace {

awaitable<void> wait_a_little(run_state& st) { // until wake() or 100 ms
    net::steady_timer t(st.ioc, std::chrono::milliseconds(100));
    t.async_wait([&st](boost::system::error_code ec) {
        if (!ec)
            st.wake();
    });
    co_await st.wait();
    t.cancel();
}

} // namespace

awaitable<void> run_cross_bcast(run_state& st, const options& o, int pid, result& r) {
    const auto n = static_cast<std::size_t>(o.num("clients", 100, 1, 19000));
    const auto count = static_cast<std::uint64_t>(o.num("count", 1, 1, 100'000));
    const auto rounds = static_cast<std::uint64_t>(o.num("rounds", 100, 1, 1'000'000));
    const auto payload = make_payload(o.num("payload", 16, 0, 1'000'000));
    const int pid2 = static_cast<int>(o.num("pid2", 0, 1, 1 << 30));
    const auto port2 = static_cast<unsigned short>(o.num("port2", 0, 1, 65535));
    const int redis_pid = static_cast<int>(o.num("redis-pid", 0, 0, 1 << 30));
    if (static_cast<double>(n) * static_cast<double>(count) * static_cast<double>(rounds) > 2e9)
        throw std::runtime_error("clients x count x rounds is too large");
    co_await connect_all(st, n);
    co_await join_all(st, "bench");
    auto owned = std::make_unique<ws_client>(st);
    auto& trigger = *owned;
    st.clients.push_back(std::move(owned));
    trigger.member = false;
    co_await trigger.ws.next_layer().async_connect(tcp::endpoint(st.endpoint.address(), port2),
                                                   use_awaitable);
    co_await upgrade_and_connect(trigger.ws, trigger.buf, "127.0.0.1:" + std::to_string(port2));
    trigger.start_reading();
    auto send_trigger = [&](std::uint64_t m, const std::string& p) {
        st.trigger_acked = false;
        st.first_seen = false;
        st.trigger_sent = clock_type::now();
        auto id = trigger.next_id++;
        trigger.pending = pending_ack::trigger;
        trigger.send("42" + std::to_string(id) + "[\"room-bcast\",\"bench\"," + std::to_string(m) + "," + p +
                     "]");
    };
    // Warm-up: one message to the room, again while none arrives within 2 s (a server may still be
    // subscribing to the room's channel when its join was acknowledged). Each attempt has its own payload.
    for (int attempt = 1;; ++attempt) {
        const auto p = "\"warm-up " + std::to_string(attempt) + "\"";
        st.expected_msg = "42[\"msg\"," + p + "]";
        st.remaining = n;
        send_trigger(1, p);
        const auto give_up = clock_type::now() + std::chrono::seconds(2);
        while (st.remaining > 0 || !st.trigger_acked) {
            if (st.trigger_acked && st.remaining == n && clock_type::now() >= give_up)
                break;
            co_await wait_a_little(st);
        }
        if (st.remaining == 0)
            break;
        if (attempt == 5)
            throw std::runtime_error("no broadcast crossed from the second server in 5 attempts");
    }
    st.expected_msg = "42[\"msg\"," + payload + "]";
    auto before_a = co_await quiet(st, pid);
    auto before_b = co_await quiet(st, pid2);
    const auto redis_before = redis_pid ? sample(redis_pid).cpu_ticks : 0;
    std::vector<std::uint32_t> first_us, last_us;
    const auto t0 = clock_type::now();
    for (std::uint64_t k = 0; k < rounds; ++k) {
        st.remaining = n * count;
        send_trigger(count, payload);
        while (st.remaining > 0 || !st.trigger_acked)
            co_await st.wait();
        auto us = [&](clock_type::time_point t) {
            return static_cast<std::uint32_t>(std::min<std::int64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(t - st.trigger_sent).count(),
                UINT32_MAX));
        };
        first_us.push_back(us(st.first_delivery));
        last_us.push_back(us(st.last_delivery));
    }
    const auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto after_a = co_await quiet(st, pid, std::chrono::milliseconds(1000));
    auto after_b = co_await quiet(st, pid2, std::chrono::milliseconds(1000));
    const auto cpu_a = ticks_to_s(after_a.cpu_ticks - before_a.cpu_ticks);
    const auto cpu_b = ticks_to_s(after_b.cpu_ticks - before_b.cpu_ticks);
    const double deliveries =
        static_cast<double>(n) * static_cast<double>(count) * static_cast<double>(rounds);
    r.add("clients", n);
    r.add("count", count);
    r.add("rounds", rounds);
    r.add("deliveries", static_cast<std::uint64_t>(deliveries));
    r.add("duration_s", secs);
    r.add("cpu_a_s", cpu_a);
    r.add("cpu_b_s", cpu_b);
    if (redis_pid) {
        const auto redis_cpu = ticks_to_s(sample(redis_pid).cpu_ticks - redis_before);
        r.add("redis_cpu_s", redis_cpu);
        r.add("redis_us_per_1k", redis_cpu * 1e6 / deliveries * 1000);
    }
    r.add("cpu_us_per_1k", (cpu_a + cpu_b) * 1e6 / deliveries * 1000);
    r.add("deliveries_per_s", deliveries / secs);
    r.add("first_p50_us", percentile(first_us, 0.5));
    r.add("first_p99_us", percentile(first_us, 0.99));
    r.add("last_p50_us", percentile(last_us, 0.5));
    r.add("last_p99_us", percentile(last_us, 0.99));
}

} // namespace loadgen
