// sio_loadgen: the load generator of the benchmark contract (bench/README.md). It speaks raw Engine.IO v4 /
// Socket.IO v5 text frames over Beast WebSocket clients on one thread (Asio coroutines), verifies every ack
// and counts every delivery, and reads the server's CPU time (utime+stime) and VmRSS from /proc/<pid>/.
//
// Usage: sio_loadgen <scenario> --port P --pid PID [--label NAME] [options]
//   conn        --n N [--hold S] [--rooms K]            N idle connections (each in K rooms): server bytes
//                                                       per connection
//   echo        --clients C --payload B --duration S    closed-loop emit-with-ack: CPU per op, latency
//   bcast       --clients N --count M [--rounds R]      one trigger of M broadcasts per round: CPU per
//   delivery room-bcast  --clients N --count M [--rounds R]      same to a room holding every other client
//   churn       --parallel P --duration S [--max K]     connect + handshake + CONNECT + close loops
//   echo-conn   --n N [--inflight K] [--echo-thread 1]  one client echoes while N clients connect
//   poll-conn   --n N                                   N idle polling-only sessions: bytes per session
//   poll-echo   --clients C --duration S                echo over polling-only clients (polling.cpp)
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
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "msgpack_text.hpp"
#include "polling.hpp"
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace net = boost::asio;
namespace ws = boost::beast::websocket;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using net::awaitable;
using net::use_awaitable;
constexpr auto tuple_awaitable = net::as_tuple(use_awaitable);

namespace {

// `--parser msgpack`: Socket.IO packets travel as msgpack binary messages (set once, before the run). The
// scenarios build and check the JSON parser's text form either way; the conversion is on the wire only.
bool msgpack_wire = false;

/// An Engine.IO message as written: text as is, or a Socket.IO packet (`4...`) as a binary msgpack message.
struct wire_message {
    std::string bytes;
    bool binary = false;
};

wire_message to_wire(std::string m) {
    if (msgpack_wire && m.size() >= 2 && m[0] == '4')
        return {loadgen_msgpack::text_to_msgpack(std::string_view(m).substr(1)), true};
    return {std::move(m), false};
}

// ---- the server process -------------------------------------------------------------------------------

struct proc_sample {
    std::uint64_t cpu_ticks = 0; // utime + stime
    long threads = 0;
    std::uint64_t rss_bytes = 0;
};

proc_sample sample(int pid) {
    proc_sample s;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        throw std::runtime_error("cannot read /proc/" + std::to_string(pid) +
                                 "/stat (is the server running?)");
    // Fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15,
    // threads 20.
    auto rp = line.rfind(')');
    std::istringstream in(line.substr(rp + 2));
    std::string f;
    for (int field = 3; in >> f; ++field) {
        if (field == 14 || field == 15)
            s.cpu_ticks += std::stoull(f);
        else if (field == 20) {
            s.threads = std::stol(f);
            break;
        }
    }
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            s.rss_bytes = std::stoull(line.substr(6)) * 1024;
    return s;
}

double ticks_to_s(std::uint64_t t) {
    return static_cast<double>(t) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// ---- options ------------------------------------------------------------------------------------------

struct options {
    std::string scenario;
    std::map<std::string, std::string> kv;
    long num(const std::string& k, long def, long lo, long hi) const {
        auto it = kv.find(k);
        long v = def;
        if (it != kv.end()) {
            char* end = nullptr;
            v = std::strtol(it->second.c_str(), &end, 10);
            if (!end || *end)
                throw std::runtime_error("--" + k + ": not a number: " + it->second);
        }
        if (v < lo || v > hi)
            throw std::runtime_error("--" + k + " must be within [" + std::to_string(lo) + ", " +
                                     std::to_string(hi) + "]");
        return v;
    }
    std::string str(const std::string& k, std::string def) const {
        auto it = kv.find(k);
        return it == kv.end() ? def : it->second;
    }
};

// ---- shared run state ---------------------------------------------------------------------------------

struct client;

struct run_state {
    net::io_context& ioc;
    tcp::endpoint endpoint;
    std::string host;
    std::string failure;
    bool stopping = false;
    net::steady_timer wake_timer;

    // Broadcast rounds.
    std::string expected_msg; // 42["msg",<payload>]
    bool offsets = false;     // `--offsets 1`: each msg ends with a decimal string offset (recovery on)
    std::uint64_t remaining = 0;
    bool trigger_acked = true;
    clock_type::time_point trigger_sent{};
    clock_type::time_point first_delivery{};
    clock_type::time_point last_delivery{}; // the round's last one (remaining reached 0)
    bool first_seen = true;

    // Echo.
    clock_type::time_point deadline{};
    std::uint64_t max_ops = 0;
    std::uint64_t ops = 0;
    std::size_t echo_active = 0;
    std::vector<std::uint32_t> latencies_us;

    // Joins.
    std::size_t joins_pending = 0;

    // The clients live as long as the io_context runs (their handlers refer to them).
    std::vector<std::unique_ptr<client>> clients;
    std::size_t connect_next = 0;
    std::size_t connect_done = 0;
    net::steady_timer* watchdog = nullptr;

    explicit run_state(net::io_context& c) : ioc(c), wake_timer(c) {}

    void wake() { wake_timer.cancel(); }
    void fail(std::string why) {
        if (failure.empty() && !stopping)
            failure = std::move(why);
        wake();
    }
    // Suspends until wake() (or a failure); the caller re-checks its condition.
    awaitable<void> wait() {
        if (!failure.empty())
            throw std::runtime_error(failure);
        wake_timer.expires_at(clock_type::time_point::max());
        co_await wake_timer.async_wait(tuple_awaitable);
        if (!failure.empty())
            throw std::runtime_error(failure);
    }
    awaitable<void> sleep(std::chrono::milliseconds d) {
        net::steady_timer t(ioc, d);
        co_await t.async_wait(tuple_awaitable);
    }
};

enum class pending_ack { none, echo, join, trigger };

struct client {
    ws::stream<tcp::socket> ws;
    boost::beast::flat_buffer buf;
    std::deque<wire_message> outq;
    bool writing = false;
    bool member = true; // receives broadcasts
    bool reading = false;
    pending_ack pending = pending_ack::none;
    std::uint64_t next_id = 0;
    std::string echo_tail; // the expected ack after "43<id>"
    std::string echo_payload;
    std::string scratch; // a binary message's text form (read_text)
    clock_type::time_point sent_at{};
    run_state* st = nullptr;

    client(net::io_context& ioc, run_state& s) : ws(ioc), st(&s) {
        ws.auto_fragment(false);
        ws.read_message_max(64 * 1024 * 1024);
        ws.text(true);
    }

    // Writes are queued: at most one outstanding async_write per stream.
    void send(std::string m) {
        outq.push_back(to_wire(std::move(m)));
        if (!writing)
            write_next();
    }
    void write_next() {
        if (outq.empty()) {
            writing = false;
            return;
        }
        writing = true;
        ws.binary(outq.front().binary);
        ws.async_write(net::buffer(outq.front().bytes), [this](boost::system::error_code ec, std::size_t) {
            if (ec) {
                writing = false;
                st->fail("write failed: " + ec.message());
                return;
            }
            outq.pop_front();
            write_next();
        });
    }
    void close() {
        boost::system::error_code ec;
        ws.next_layer().shutdown(tcp::socket::shutdown_both, ec);
        ws.next_layer().close(ec);
    }
};

std::string_view text_of(const boost::beast::flat_buffer& b) {
    return {static_cast<const char*>(b.data().data()), b.size()};
}

/// The message just read into `b`, in text form: a binary msgpack packet becomes `4` + its text form.
std::string_view read_text(const ws::stream<tcp::socket>& s, const boost::beast::flat_buffer& b,
                           std::string& scratch) {
    if (!s.got_binary()) {
        const auto m = text_of(b);
        if (msgpack_wire && m.size() >= 2 && m[0] == '4')
            throw std::runtime_error(
                "a text Socket.IO packet while the parser is msgpack (is the server on the "
                "msgpack parser?): " +
                std::string(m.substr(0, 80)));
        return m;
    }
    if (!msgpack_wire)
        throw std::runtime_error("a binary message while the parser is JSON");
    scratch = "4" + loadgen_msgpack::msgpack_to_text(text_of(b));
    return scratch;
}

// On a connected socket: WebSocket upgrade, Engine.IO open, Socket.IO CONNECT to `nsp` and its answer.
awaitable<void> upgrade_and_connect(ws::stream<tcp::socket>& ws, boost::beast::flat_buffer& buf,
                                    const std::string& host, std::string_view nsp = "/") {
    ws.next_layer().set_option(tcp::no_delay(true));
    co_await ws.async_handshake(host, "/socket.io/?EIO=4&transport=websocket", use_awaitable);
    co_await ws.async_read(buf, use_awaitable);
    if (text_of(buf).substr(0, 2) != "0{")
        throw std::runtime_error("expected an Engine.IO open packet, got: " +
                                 std::string(text_of(buf).substr(0, 80)));
    buf.consume(buf.size());
    // "40" for "/", "40/nsp," for another namespace; the answer carries the same prefix.
    const std::string connect = nsp == "/" ? std::string("40") : "40" + std::string(nsp) + ",";
    const auto out = to_wire(connect);
    ws.binary(out.binary);
    co_await ws.async_write(net::buffer(out.bytes), use_awaitable);
    ws.text(true);
    co_await ws.async_read(buf, use_awaitable);
    std::string scratch;
    auto m = read_text(ws, buf, scratch);
    if (m.substr(0, connect.size() + 1) != connect + "{" || m.find("\"sid\"") == std::string_view::npos)
        throw std::runtime_error("expected a Socket.IO CONNECT answer, got: " + std::string(m.substr(0, 80)));
    buf.consume(buf.size());
}

// TCP connect, WebSocket upgrade, Engine.IO open, Socket.IO CONNECT to "/" and its answer.
awaitable<void> handshake(client& c) {
    auto& st = *c.st;
    co_await c.ws.next_layer().async_connect(st.endpoint, use_awaitable);
    co_await upgrade_and_connect(c.ws, c.buf, st.host);
}

void send_echo(client& c) {
    auto id = c.next_id++;
    c.echo_tail = "[" + c.echo_payload + "," + std::to_string(id) + "]";
    c.pending = pending_ack::echo;
    c.sent_at = clock_type::now();
    c.send("42" + std::to_string(id) + "[\"echo\"," + c.echo_payload + "," + std::to_string(id) + "]");
}

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

awaitable<void> reader(client& c) {
    c.reading = true;
    for (;;) {
        auto [ec, n] = co_await c.ws.async_read(c.buf, tuple_awaitable);
        if (ec) {
            c.reading = false;
            if (!c.st->stopping)
                c.st->fail("connection lost: " + ec.message());
            co_return;
        }
        try {
            on_message(c, read_text(c.ws, c.buf, c.scratch));
        } catch (const std::exception& e) {
            c.st->fail(e.what());
        }
        c.buf.consume(c.buf.size());
    }
}

// Connects st.clients[next..] (64 handshakes in flight); each client starts reading once connected.
awaitable<void> connect_worker(run_state& st) {
    while (st.connect_next < st.clients.size() && st.failure.empty()) {
        auto& c = *st.clients[st.connect_next++];
        try {
            co_await handshake(c);
        } catch (const std::exception& e) {
            st.fail(std::string("handshake failed: ") + e.what());
            co_return;
        }
        net::co_spawn(st.ioc, reader(c), net::detached);
        if (++st.connect_done == st.clients.size())
            st.wake();
    }
}

awaitable<void> connect_all(run_state& st, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        st.clients.push_back(std::make_unique<client>(st.ioc, st));
    std::size_t workers = std::min<std::size_t>(n, 64);
    for (std::size_t i = 0; i < workers; ++i)
        net::co_spawn(st.ioc, connect_worker(st), net::detached);
    while (st.connect_done < n)
        co_await st.wait();
}

// Waits until the server's CPU time stops moving (at most `limit`): the previous step's work is over.
awaitable<proc_sample> quiet(run_state& st, int pid,
                             std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
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

double percentile(std::vector<std::uint32_t>& v, double p) {
    if (v.empty())
        return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\')
            out += '\\';
        if (static_cast<unsigned char>(ch) >= 0x20)
            out += ch;
    }
    return out + "\"";
}

struct result {
    std::ostringstream fields;
    template <class T>
    void add(const char* k, T v) {
        fields << ",\"" << k << "\":" << v;
    }
};

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

// ---- scenarios ----------------------------------------------------------------------------------------

awaitable<void> run_conn(run_state& st, const options& o, int pid, result& r) {
    auto n = static_cast<std::size_t>(o.num("n", 1000, 1, 19000));
    auto before = co_await quiet(st, pid);
    auto t0 = clock_type::now();
    co_await connect_all(st, n);
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    // `--rooms K`: then every socket joins the rooms "r0" .. "r<K-1>" (one join in flight per client).
    const auto rooms = o.num("rooms", 0, 0, 100);
    for (long k = 0; k < rooms; ++k) {
        st.joins_pending = n;
        for (auto& c : st.clients) {
            auto id = c->next_id++;
            c->pending = pending_ack::join;
            c->send("42" + std::to_string(id) + "[\"join\",\"r" + std::to_string(k) + "\"]");
        }
        while (st.joins_pending > 0)
            co_await st.wait();
    }
    auto after = co_await quiet(st, pid);
    co_await st.sleep(std::chrono::milliseconds(300));
    after = sample(pid);
    r.add("n", n);
    r.add("rooms", rooms);
    r.add("bytes_per_conn", static_cast<double>(static_cast<std::int64_t>(after.rss_bytes) -
                                                static_cast<std::int64_t>(before.rss_bytes)) /
                                static_cast<double>(n));
    r.add("rss_before", before.rss_bytes);
    r.add("rss_after", after.rss_bytes);
    r.add("connects_per_s", static_cast<double>(n) / secs);
    r.add("cpu_us_per_connect",
          ticks_to_s(after.cpu_ticks - before.cpu_ticks) * 1e6 / static_cast<double>(n));
    r.add("server_threads", after.threads);
    // Profiling: keep the connections open a while (heaptrack a server, then stop it meanwhile).
    if (const auto hold = o.num("hold", 0, 0, 3600))
        co_await st.sleep(std::chrono::seconds(hold));
}

awaitable<void> run_echo(run_state& st, const options& o, int pid, result& r) {
    auto n = static_cast<std::size_t>(o.num("clients", 10, 1, 19000));
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
    r.add("payload", o.num("payload", 16, 0, 1'000'000));
    r.add("ops", st.ops);
    r.add("duration_s", secs);
    r.add("server_cpu_s", cpu);
    r.add("cpu_s_per_100k", cpu / static_cast<double>(st.ops) * 1e5);
    r.add("ops_per_s", static_cast<double>(st.ops) / secs);
    r.add("p50_us", percentile(st.latencies_us, 0.5));
    r.add("p99_us", percentile(st.latencies_us, 0.99));
    r.add("p999_us", percentile(st.latencies_us, 0.999));
    r.add("server_threads", after.threads);
}

awaitable<void> run_bcast(run_state& st, const options& o, int pid, result& r, bool room) {
    auto n = static_cast<std::size_t>(o.num("clients", 100, room ? 2 : 1, 19000));
    auto count = static_cast<std::uint64_t>(o.num("count", 10, 1, 100'000));
    auto rounds = static_cast<std::uint64_t>(o.num("rounds", 1, 1, 1'000'000));
    auto payload = make_payload(o.num("payload", 16, 0, 1'000'000));
    if (static_cast<double>(n) * static_cast<double>(count) * static_cast<double>(rounds) > 2e9)
        throw std::runtime_error("clients x count x rounds is too large");
    st.expected_msg = "42[\"msg\"," + payload + "]";
    st.offsets = o.num("offsets", 0, 0, 1) != 0;
    co_await connect_all(st, n);
    std::size_t members = n;
    if (room) {
        // Every other client joins the room "bench"; the trigger (client 0) is a member.
        members = 0;
        st.joins_pending = (n + 1) / 2;
        for (std::size_t i = 0; i < n; ++i) {
            auto& c = *st.clients[i];
            c.member = i % 2 == 0;
            if (!c.member)
                continue;
            ++members;
            auto id = c.next_id++;
            c.pending = pending_ack::join;
            c.send("42" + std::to_string(id) + "[\"join\",\"bench\"]");
        }
        while (st.joins_pending > 0)
            co_await st.wait();
    }
    auto& trigger = *st.clients[0];
    // `--echo 1`: the last client (a member too) runs a closed echo loop while the broadcasts run.
    const bool with_echo = o.num("echo", 0, 0, 1) == 1 && n >= 2;
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
    r.add("members", members);
    r.add("count", count);
    r.add("rounds", rounds);
    r.add("deliveries", static_cast<std::uint64_t>(deliveries));
    r.add("duration_s", secs);
    r.add("server_cpu_s", cpu);
    r.add("cpu_us_per_1k", cpu * 1e6 / deliveries * 1000);
    r.add("deliveries_per_s", deliveries / secs);
    r.add("first_delivery_us", first_us);
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
        st.clients.push_back(std::make_unique<client>(st.ioc, st));
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
        st.clients.push_back(std::make_unique<client>(st.ioc, st));
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
        client c(st.ioc, st);
        auto t0 = clock_type::now();
        try {
            co_await handshake(c);
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

// `cross-bcast`: a broadcast that crosses the cluster (two servers on one Redis, bench/cross.py). The N
// clients on server A (--port, --pid) join the room "bench"; a trigger client on server B (--port2, --pid2),
// not in the room, sends `room-bcast("bench", M, payload)` R times, one round at a time: every delivery goes
// through the adapter. CPU is both servers' (Redis's apart with --redis-pid); latency is per round, from
// the trigger's send to the first and to the last delivery on A.
awaitable<void> wait_a_little(run_state& st) { // until wake() or 100 ms
    net::steady_timer t(st.ioc, std::chrono::milliseconds(100));
    t.async_wait([&st](boost::system::error_code ec) {
        if (!ec)
            st.wake();
    });
    co_await st.wait();
    t.cancel();
}

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
    st.joins_pending = n;
    for (auto& c : st.clients) {
        auto id = c->next_id++;
        c->pending = pending_ack::join;
        c->send("42" + std::to_string(id) + "[\"join\",\"bench\"]");
    }
    while (st.joins_pending > 0)
        co_await st.wait();
    st.clients.push_back(std::make_unique<client>(st.ioc, st));
    auto& trigger = *st.clients.back();
    trigger.member = false;
    co_await trigger.ws.next_layer().async_connect(tcp::endpoint(st.endpoint.address(), port2),
                                                   use_awaitable);
    co_await upgrade_and_connect(trigger.ws, trigger.buf, "127.0.0.1:" + std::to_string(port2));
    net::co_spawn(st.ioc, reader(trigger), net::detached);
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

// ---- soak ---------------------------------------------------------------------------------------------
//
// Many clients for a long time against a server that broadcasts `tick(seq, payload)` on its own schedule
// (sio_bench_server --tick-ms). Readers check that their ticks are consecutive (a gap is a drop); a share
// of them reconnects every minute (WebSocket close, then a new connection); one client in 100/mute-pct
// never reads after its handshake and only writes a pong every few seconds (so that the heartbeat does not
// end it): the server's overflow policy must end it, which that client notices when a write fails, and it
// connects again. A control client on namespace "/soak" asks the server for its `stats` at every report.

struct soak_client : std::enable_shared_from_this<soak_client> {
    ws::stream<tcp::socket> ws;
    boost::beast::flat_buffer buf;
    std::deque<std::string> outq;
    bool writing = false;
    bool closing = false; // this side closes it (a reconnect)
    std::int64_t last_seq = -1;

    explicit soak_client(net::io_context& ioc) : ws(ioc) {
        ws.auto_fragment(false);
        ws.read_message_max(16 * 1024 * 1024);
        ws.text(true);
    }
    void send(std::string m) {
        outq.push_back(std::move(m));
        if (!writing)
            write_next();
    }
    void write_next() {
        if (outq.empty()) {
            writing = false;
            return;
        }
        writing = true;
        ws.async_write(net::buffer(outq.front()),
                       [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                           if (ec) { // the reader reports the lost connection
                               self->outq.clear();
                               self->writing = false;
                               return;
                           }
                           self->outq.pop_front();
                           self->write_next();
                       });
    }
};

struct soak_state {
    run_state& st;
    std::vector<net::ip::address> sources;
    std::string tick_tail; // ,"xxx"]
    std::chrono::seconds mute_pong_every{5};
    int mute_rcvbuf = 0; // SO_RCVBUF of the clients that never read (0: the system's)
    bool stopping = false;

    std::vector<std::shared_ptr<soak_client>> live; // each slot's open connection (null meanwhile)
    std::vector<bool> mute;

    // At most `max_in_flight` handshakes at a time; the others wait in line.
    std::size_t in_flight = 0;
    std::size_t max_in_flight = 64;
    std::deque<net::steady_timer*> waiting;

    // Cumulative counters.
    std::uint64_t deliveries = 0, drops = 0, errors = 0, reconnects = 0, mute_closes = 0, connects = 0;
    std::size_t readers_up = 0, mute_up = 0;

    // The control client's pending `stats` request.
    std::shared_ptr<soak_client> control;
    std::uint64_t stats_id = 0;
    std::string stats_reply;
    bool stats_done = false;

    explicit soak_state(run_state& s) : st(s) {}

    void error(const std::string& why) {
        if (stopping)
            return;
        if (++errors <= 20)
            std::cerr << "sio_loadgen soak: error: " << why << std::endl;
    }
    awaitable<void> acquire() {
        if (in_flight < max_in_flight) {
            ++in_flight;
            co_return;
        }
        net::steady_timer t(st.ioc, clock_type::time_point::max());
        waiting.push_back(&t);
        co_await t.async_wait(tuple_awaitable); // cancelled by release(): the place is handed over
    }
    void release() {
        if (waiting.empty()) {
            --in_flight;
            return;
        }
        waiting.front()->cancel();
        waiting.pop_front();
    }
};

void soak_message(soak_state& ss, soak_client& c, std::string_view m) {
    if (m == "2")
        return c.send("3");
    constexpr std::string_view tick = "42[\"tick\",";
    if (m.substr(0, tick.size()) != tick)
        return ss.error("unexpected packet: " + std::string(m.substr(0, 80)));
    std::size_t i = tick.size();
    std::int64_t seq = 0;
    while (i < m.size() && m[i] >= '0' && m[i] <= '9')
        seq = seq * 10 + (m[i++] - '0');
    if (i == tick.size() || m.substr(i) != ss.tick_tail)
        return ss.error("malformed tick: " + std::string(m.substr(0, 80)));
    if (c.last_seq >= 0) {
        if (seq <= c.last_seq)
            return ss.error("tick " + std::to_string(seq) + " after " + std::to_string(c.last_seq));
        ss.drops += static_cast<std::uint64_t>(seq - c.last_seq - 1);
    }
    c.last_seq = seq;
    ++ss.deliveries;
}

awaitable<void> soak_reader(soak_state& ss, std::shared_ptr<soak_client> c) {
    for (;;) {
        auto [ec, n] = co_await c->ws.async_read(c->buf, tuple_awaitable);
        if (ec) {
            if (!c->closing && !ss.stopping)
                ss.error("connection lost: " + ec.message());
            co_return;
        }
        soak_message(ss, *c, text_of(c->buf));
        c->buf.consume(c->buf.size());
    }
}

// A client that never reads: a pong every few seconds keeps the heartbeat quiet; once the server has closed
// the connection, the peer's reset makes a write fail.
awaitable<void> soak_mute(soak_state& ss, std::shared_ptr<soak_client> c) {
    net::steady_timer t(ss.st.ioc);
    for (;;) {
        t.expires_after(ss.mute_pong_every);
        co_await t.async_wait(tuple_awaitable);
        if (ss.stopping)
            co_return;
        auto [ec, n] = co_await c->ws.async_write(net::buffer(std::string_view("3")), tuple_awaitable);
        if (ec) {
            ++ss.mute_closes;
            boost::system::error_code ignored;
            c->ws.next_layer().close(ignored);
            co_return;
        }
    }
}

awaitable<void> soak_connect(soak_state& ss, soak_client& c, const net::ip::address& source,
                             std::string_view nsp, int rcvbuf = 0) {
    auto& sock = c.ws.next_layer();
    sock.open(source.is_v6() ? tcp::v6() : tcp::v4());
    if (rcvbuf > 0) // before connecting: the window scale is chosen by the handshake
        sock.set_option(net::socket_base::receive_buffer_size(rcvbuf));
#ifdef IP_BIND_ADDRESS_NO_PORT
    // The port is chosen at connect time, per destination: each source address has the whole range.
    int one = 1;
    ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
    sock.bind(tcp::endpoint(source, 0));
    co_await sock.async_connect(ss.st.endpoint, use_awaitable);
    co_await upgrade_and_connect(c.ws, c.buf, ss.st.host, nsp);
}

// One client slot: connects, reads (or not) until its connection ends, then connects again.
awaitable<void> soak_slot(soak_state& ss, std::size_t i) {
    const bool mute = ss.mute[i];
    while (!ss.stopping) {
        auto c = std::make_shared<soak_client>(ss.st.ioc);
        co_await ss.acquire();
        bool ok = false;
        if (!ss.stopping) {
            try {
                co_await soak_connect(ss, *c, ss.sources[i % ss.sources.size()], "/",
                                      mute ? ss.mute_rcvbuf : 0);
                ok = true;
            } catch (const std::exception& e) {
                ss.error(std::string("handshake failed: ") + e.what());
            }
        }
        ss.release();
        if (!ok) {
            co_await ss.st.sleep(std::chrono::milliseconds(1000));
            continue;
        }
        ++ss.connects;
        ss.live[i] = c;
        ++(mute ? ss.mute_up : ss.readers_up);
        if (mute)
            co_await soak_mute(ss, c);
        else
            co_await soak_reader(ss, c);
        --(mute ? ss.mute_up : ss.readers_up);
        ss.live[i].reset();
    }
}

// Closes `per_minute` reader connections a minute, spread over the seconds, round robin over the slots.
awaitable<void> soak_reconnects(soak_state& ss, double per_minute) {
    net::steady_timer t(ss.st.ioc);
    auto next = clock_type::now();
    double owed = 0;
    std::size_t cursor = 0;
    const std::size_t n = ss.live.size();
    while (!ss.stopping) {
        next += std::chrono::seconds(1);
        t.expires_at(next);
        co_await t.async_wait(tuple_awaitable);
        owed += per_minute / 60.0;
        for (std::size_t scanned = 0; owed >= 1 && scanned < n && !ss.stopping; ++scanned) {
            const std::size_t i = cursor++ % n;
            auto& c = ss.live[i];
            if (ss.mute[i] || !c || c->closing)
                continue;
            owed -= 1;
            ++ss.reconnects;
            c->closing = true;
            c->ws.async_close(ws::close_code::normal, [c](boost::system::error_code) {});
            // Should the close handshake stall, the connection is cut anyway.
            auto cut = std::make_shared<net::steady_timer>(ss.st.ioc, std::chrono::seconds(10));
            cut->async_wait([cut, c](boost::system::error_code ec) {
                if (!ec && c->ws.next_layer().is_open()) {
                    boost::system::error_code ignored;
                    c->ws.next_layer().close(ignored);
                }
            });
        }
    }
}

awaitable<void> soak_control_reader(soak_state& ss, std::shared_ptr<soak_client> c) {
    const std::string prefix = "43/soak,";
    for (;;) {
        auto [ec, n] = co_await c->ws.async_read(c->buf, tuple_awaitable);
        if (ec) {
            if (!ss.stopping)
                ss.st.fail("the control connection was lost: " + ec.message());
            co_return;
        }
        auto m = text_of(c->buf);
        if (m == "2") {
            c->send("3");
        } else if (m.substr(0, prefix.size()) == prefix) {
            auto id_end = m.find('[');
            if (id_end != std::string_view::npos &&
                m.substr(prefix.size(), id_end - prefix.size()) == std::to_string(ss.stats_id) &&
                m.back() == ']') {
                ss.stats_reply = std::string(m.substr(id_end + 1, m.size() - id_end - 2));
                ss.stats_done = true;
                ss.st.wake();
            }
        } else {
            ss.st.fail("unexpected packet on /soak: " + std::string(m.substr(0, 80)));
        }
        c->buf.consume(c->buf.size());
    }
}

awaitable<std::string> soak_server_stats(soak_state& ss) {
    ss.stats_done = false;
    ss.control->send("42/soak," + std::to_string(++ss.stats_id) + "[\"stats\"]");
    while (!ss.stats_done)
        co_await ss.st.wait();
    co_return ss.stats_reply;
}

awaitable<void> run_soak(run_state& st, const options& o, result& r) {
    // Lives until the process exits: the detached coroutines of the clients refer to it.
    auto& ss = *new soak_state(st);
    const auto n = static_cast<std::size_t>(o.num("clients", 19000, 1, 19900));
    const auto minutes = o.num("minutes", 30, 1, 24 * 60);
    const auto report_s = o.num("report-s", 60, 1, 3600);
    const auto tick_ms = o.num("tick-ms", 1000, 1, 3'600'000);
    const auto reconnect_pct = o.num("reconnect-pct", 5, 0, 100);
    const auto mute_pct = o.num("mute-pct", 1, 0, 100);
    const auto tick_bytes = o.num("tick-bytes", 16, 0, 1'000'000);
    const auto sources = o.num("sources", 1, 1, 250);
    ss.mute_pong_every = std::chrono::seconds(o.num("mute-pong-s", 5, 1, 20));
    ss.mute_rcvbuf = static_cast<int>(o.num("mute-rcvbuf", 4096, 0, 64 * 1024 * 1024));
    ss.tick_tail = "," + std::string("\"") + std::string(static_cast<std::size_t>(tick_bytes), 'x') + "\"]";
    // Source addresses 127.0.0.1, .2, ...: each has the whole ephemeral port range.
    const auto base = st.endpoint.address().to_v4().to_uint();
    for (long k = 0; k < sources; ++k)
        ss.sources.push_back(net::ip::address_v4(base + static_cast<std::uint32_t>(k)));
    ss.live.resize(n);
    ss.mute.resize(n);
    std::size_t mutes = 0;
    if (mute_pct > 0) {
        // One slot in 100/mute_pct, spread evenly.
        const auto q = static_cast<std::size_t>(mute_pct);
        for (std::size_t i = 0; i < n; ++i) {
            if ((i + 1) * q / 100 != i * q / 100) {
                ss.mute[i] = true;
                ++mutes;
            }
        }
    }

    ss.control = std::make_shared<soak_client>(st.ioc);
    co_await soak_connect(ss, *ss.control, ss.sources[0], "/soak");
    net::co_spawn(st.ioc, soak_control_reader(ss, ss.control), net::detached);

    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < n; ++i)
        net::co_spawn(st.ioc, soak_slot(ss, i), net::detached);
    // Every slot connected once (or the first report is due).
    while (ss.connects < n && clock_type::now() < t0 + std::chrono::seconds(report_s))
        co_await st.sleep(std::chrono::milliseconds(100));
    const double connect_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    net::co_spawn(
        st.ioc,
        soak_reconnects(ss, static_cast<double>(n - mutes) * static_cast<double>(reconnect_pct) / 100.0),
        net::detached);

    // One line per report: the row "0" right after connecting, then every report_s seconds.
    const auto end = t0 + std::chrono::minutes(minutes);
    auto last_at = clock_type::now();
    std::uint64_t last_deliveries = ss.deliveries;
    auto next = t0;
    for (bool first = true;; first = false) {
        auto stats = co_await soak_server_stats(ss);
        const auto now = clock_type::now();
        const double since = std::chrono::duration<double>(now - last_at).count();
        std::ostringstream row;
        row << "{\"row\":" << std::chrono::duration<double>(now - t0).count() / 60.0
            << ",\"connected\":" << ss.readers_up + ss.mute_up << ",\"readers\":" << ss.readers_up
            << ",\"mute\":" << ss.mute_up << ",\"deliveries_per_s\":"
            << (first ? 0.0 : static_cast<double>(ss.deliveries - last_deliveries) / since)
            << ",\"expected_per_s\":"
            << static_cast<double>(ss.readers_up) * 1000.0 / static_cast<double>(tick_ms)
            << ",\"deliveries\":" << ss.deliveries << ",\"errors\":" << ss.errors << ",\"drops\":" << ss.drops
            << ",\"mute_closes\":" << ss.mute_closes << ",\"reconnects\":" << ss.reconnects
            << ",\"connects\":" << ss.connects << ",\"server\":" << stats << "}";
        std::cout << row.str() << std::endl;
        last_at = now;
        last_deliveries = ss.deliveries;
        if (now >= end || !st.failure.empty())
            break;
        next += std::chrono::seconds(report_s);
        if (next > end)
            next = end;
        net::steady_timer t(st.ioc, next);
        co_await t.async_wait(tuple_awaitable);
    }
    ss.stopping = true;
    r.add("clients", n);
    r.add("mute_clients", mutes);
    r.add("minutes", minutes);
    r.add("tick_ms", tick_ms);
    r.add("tick_bytes", tick_bytes);
    r.add("reconnect_pct", reconnect_pct);
    r.add("sources", sources);
    r.add("connect_s", connect_s);
    r.add("deliveries", ss.deliveries);
    r.add("errors", ss.errors);
    r.add("drops", ss.drops);
    r.add("mute_closes", ss.mute_closes);
    r.add("reconnects", ss.reconnects);
    r.add("connects", ss.connects);
    if (ss.errors > 0 || ss.drops > 0)
        st.fail(std::to_string(ss.errors) + " error(s), " + std::to_string(ss.drops) + " tick(s) dropped");
}

awaitable<void> run(run_state& st, const options& o, int pid, result& r, bool& ok) {
    try {
        if (o.scenario == "conn")
            co_await run_conn(st, o, pid, r);
        else if (o.scenario == "echo")
            co_await run_echo(st, o, pid, r);
        else if (o.scenario == "bcast")
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
        else if (loadgen::is_polling_scenario(o.scenario))
            r.fields << co_await loadgen::run_polling(
                o.scenario,
                {st.ioc, st.endpoint, st.host,
                 [&o](const std::string& k, long def, long lo, long hi) { return o.num(k, def, lo, hi); },
                 [pid](double& cpu_s, double& rss) {
                     const auto s = sample(pid);
                     cpu_s = ticks_to_s(s.cpu_ticks);
                     rss = static_cast<double>(s.rss_bytes);
                 }});
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
    if (argc < 2 || argv[1][0] == '-') {
        std::cerr
            << "usage: sio_loadgen "
               "conn|echo|bcast|room-bcast|churn|echo-conn|cross-bcast|poll-conn|poll-echo|poll-bcast|soak "
               "--port "
               "P --pid PID [--key "
               "value]...\n";
        return 2;
    }
    o.scenario = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0 || i + 1 >= argc) {
            std::cerr << "sio_loadgen: bad argument " << k << "\n";
            return 2;
        }
        o.kv[k.substr(2)] = argv[++i];
    }
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    net::io_context ioc(1);
    run_state st(ioc);
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
