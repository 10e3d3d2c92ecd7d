// The load generator's run loop, whatever the transport (session.hpp).
#include "session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>

#include "polling.hpp"
#include "ws_client.hpp"

namespace loadgen {

awaitable<void> run_state::wait() {
    if (!failure.empty())
        throw std::runtime_error(failure);
    wake_timer.expires_at(clock_type::time_point::max());
    co_await wake_timer.async_wait(tuple_awaitable);
    if (!failure.empty())
        throw std::runtime_error(failure);
}

awaitable<void> run_state::sleep(std::chrono::milliseconds d) {
    net::steady_timer t(ioc, d);
    co_await t.async_wait(tuple_awaitable);
}

std::unique_ptr<client> make_client(run_state& st) {
    if (st.via == transport::polling)
        return make_poll_client(st);
    return std::make_unique<ws_client>(st);
}

void send_echo(client& c) {
    auto id = c.next_id++;
    c.echo_tail = "[" + c.echo_payload + "," + std::to_string(id) + "]";
    c.pending = pending_ack::echo;
    c.sent_at = clock_type::now();
    c.send("42" + std::to_string(id) + "[\"echo\"," + c.echo_payload + "," + std::to_string(id) + "]");
}

namespace {

void on_ack(client& c, std::string_view m) {
    auto& st = *c.st;
    std::size_t i = 2;
    std::uint64_t id = 0;
    while (i < m.size() && m[i] >= '0' && m[i] <= '9')
        id = id * 10 + static_cast<std::uint64_t>(m[i++] - '0');
    if (i == 2 || c.pending == pending_ack::none || id + 1 != c.next_id)
        return st.fail("unexpected ack: " + std::string(m.substr(0, 80)));
    auto tail = m.substr(i);
    auto kind = c.pending;
    c.pending = pending_ack::none;
    switch (kind) {
    case pending_ack::echo: {
        if (tail != c.echo_tail)
            return st.fail("wrong echo ack: got " + std::string(m.substr(0, 80)) + ", expected 43" +
                           std::to_string(id) + c.echo_tail.substr(0, 60));
        auto now = clock_type::now();
        ++st.ops;
        st.latencies_us.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent_at).count(), UINT32_MAX)));
        if (now < st.deadline && st.ops + st.echo_active <= st.max_ops)
            send_echo(c);
        else if (--st.echo_active == 0)
            st.wake();
        return;
    }
    case pending_ack::join:
        if (tail != "[]")
            return st.fail("wrong join ack: " + std::string(m.substr(0, 80)));
        if (--st.joins_pending == 0)
            st.wake();
        return;
    case pending_ack::trigger:
        if (tail != "[]")
            return st.fail("wrong broadcast ack: " + std::string(m.substr(0, 80)));
        st.trigger_acked = true;
        if (st.remaining == 0)
            st.wake();
        return;
    case pending_ack::none:
        return;
    }
}

/// `m` is `expected` with one more argument, a string of 1 to 20 digits (the offset of connection state
/// recovery): `42["msg",<payload>,"<digits>"]`.
bool with_offset(std::string_view m, std::string_view expected) {
    const auto head = expected.substr(0, expected.size() - 1); // without the closing ']'
    if (m.size() < head.size() + 5 || m.substr(0, head.size()) != head || m.substr(m.size() - 2) != "\"]")
        return false;
    const auto digits = m.substr(head.size() + 2, m.size() - head.size() - 4);
    return m.substr(head.size(), 2) == ",\"" && !digits.empty() && digits.size() <= 20 &&
           digits.find_first_not_of("0123456789") == std::string_view::npos;
}

} // namespace

void on_message(client& c, std::string_view m) {
    auto& st = *c.st;
    if (m == "2")
        return c.send("3");
    if (m.size() >= 2 && m[0] == '4' && m[1] == '2') {
        if (m != st.expected_msg && !(st.offsets && with_offset(m, st.expected_msg)))
            return st.fail("unexpected event: " + std::string(m.substr(0, 80)));
        if (!c.member)
            return st.fail("a broadcast reached a socket outside the room");
        if (st.remaining == 0)
            return st.fail("more deliveries than broadcast");
        if (!st.first_seen) {
            st.first_seen = true;
            st.first_delivery = clock_type::now();
        }
        if (--st.remaining == 0) {
            st.last_delivery = clock_type::now();
            if (st.trigger_acked)
                st.wake();
        }
        return;
    }
    if (m.size() >= 2 && m[0] == '4' && m[1] == '3')
        return on_ack(c, m);
    st.fail("unexpected packet: " + std::string(m.substr(0, 80)));
}

awaitable<void> connect_worker(run_state& st) {
    while (st.connect_next < st.clients.size() && st.failure.empty()) {
        auto& c = *st.clients[st.connect_next++];
        try {
            co_await c.handshake();
        } catch (const std::exception& e) {
            st.fail(std::string("handshake failed: ") + e.what());
            co_return;
        }
        c.start_reading();
        if (++st.connect_done == st.clients.size())
            st.wake();
    }
}

awaitable<void> connect_all(run_state& st, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        st.clients.push_back(make_client(st));
    std::size_t workers = std::min<std::size_t>(n, 64);
    for (std::size_t i = 0; i < workers; ++i)
        net::co_spawn(st.ioc, connect_worker(st), net::detached);
    while (st.connect_done < n)
        co_await st.wait();
}

awaitable<void> join_all(run_state& st, const std::string& room) {
    st.joins_pending = 0;
    for (auto& c : st.clients) {
        if (!c->member)
            continue;
        ++st.joins_pending;
        auto id = c->next_id++;
        c->pending = pending_ack::join;
        c->send("42" + std::to_string(id) + "[\"join\",\"" + room + "\"]");
    }
    while (st.joins_pending > 0)
        co_await st.wait();
}

awaitable<proc_sample> quiet(run_state& st, int pid, std::chrono::milliseconds limit) {
    auto s = sample(pid);
    auto until = clock_type::now() + limit;
    while (clock_type::now() < until) {
        co_await st.sleep(std::chrono::milliseconds(150));
        auto t = sample(pid);
        bool still = t.cpu_ticks == s.cpu_ticks;
        s = t;
        if (still)
            break;
    }
    co_return s;
}

std::string make_payload(long bytes) {
    std::string p = "\"";
    for (long i = 0; i < bytes; ++i)
        p += static_cast<char>('a' + i % 26);
    return p + "\"";
}

void close_all(run_state& st) {
    st.stopping = true;
    for (auto& c : st.clients)
        c->close();
    if (st.watchdog)
        st.watchdog->cancel();
}

} // namespace loadgen
