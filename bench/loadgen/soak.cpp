// The load generator's scenario soak (scenarios.hpp).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <deque>
#include <iostream>

#include "scenarios.hpp"
#include "ws_client.hpp"
#include <netinet/in.h>
#include <sys/socket.h>

namespace loadgen {
namespace {

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

} // namespace

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

} // namespace loadgen
