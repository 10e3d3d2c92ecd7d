// Metrics: the numbers match what test clients did; `GET /metrics` and `GET /healthz`; the Prometheus text
// passes `promtool check metrics` (Debian's `prometheus` package).
#include <sio/adapter/memory.hpp>
#include <sio/sio.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "metrics/registry.hpp"
#include "support/manual_time.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;

namespace {

sio::server_options with_metrics(std::size_t namespace_limit = 32) {
    sio::server_options o;
    sio::metrics_options m;
    m.endpoint = "/metrics";
    m.health_endpoint = "/healthz";
    m.namespace_label_limit = namespace_limit;
    o.metrics = m;
    return o;
}

double histogram_sum(const sio::metrics_snapshot& s, std::string_view name) {
    const auto* f = s.find(name);
    BOOST_TEST_REQUIRE(f);
    BOOST_TEST_REQUIRE(f->histograms.size() == 1u);
    return f->histograms.front().sum;
}

/// An HTTP GET on the server's port: status and body.
std::pair<unsigned, std::string> http_get(sio_server& server, const std::string& target,
                                          std::string* content_type = nullptr) {
    net::io_context ioc;
    test_client c(ioc, server.port());
    const auto r = c.request(get_request(target));
    if (content_type)
        *content_type = std::string(r[http::field::content_type]);
    return {r.result_int(), r.body()};
}

/// The server: "ask" makes it emit "q" with an ack that times out quickly, "shout" broadcasts "news" to
/// everyone, "echo" acknowledges its argument; every disconnection is recorded.
void install_handlers(sio_server& server) {
    auto& log = server.log();
    sio::server* io = &server.io();
    server.io().on_connection([&log, io](sio::socket s) {
        s.on("echo", [](sio::socket, std::string x, sio::ack ack) { ack(x); });
        s.on("shout", [io](sio::socket) { io->emit("news", 1); });
        s.on("chorus", [io](sio::socket) { // three broadcasts: each session's drain queues three messages
            for (int i = 1; i <= 3; ++i)
                io->emit("news", i);
        });
        s.on("ask", [&log](sio::socket s, sio::event) -> net::awaitable<void> {
            auto r = co_await s.timeout(std::chrono::milliseconds(50)).emit_with_ack("q");
            log.add(r.error == sio::error::ack_timeout ? "ack timeout" : "ack other");
        });
        s.on_disconnect([&log](sio::socket, sio::disconnect_reason r) {
            log.add("disconnect " + std::string(sio::to_string(r)));
        });
        log.add("connection");
    });
}

} // namespace

BOOST_AUTO_TEST_SUITE(counting)

BOOST_AUTO_TEST_CASE(the_numbers_match_what_the_clients_did) {
    sio_server server(with_metrics());
    install_handlers(server);
    server.start(2);

    auto a = server.client();
    auto b = server.client();
    a.connect();
    b.connect();
    BOOST_TEST_REQUIRE(server.log().wait("connection", 2));

    a.send(R"(42["note",1])");
    a.send(R"(42["note",2])");
    a.send(R"(42["note",3])");
    a.send(R"(421["echo","x"])");
    BOOST_TEST(a.read() == R"(431["x"])");
    a.send(R"(42["shout"])");
    BOOST_TEST(a.read() == R"(42["news",1])");
    BOOST_TEST(b.read() == R"(42["news",1])");
    a.send(R"(42["ask"])");
    BOOST_TEST(a.read() == R"(420["q"])"); // not answered: times out
    BOOST_TEST_REQUIRE(server.log().wait("ack timeout"));

    // A request for a session that does not exist: handshake error code 1.
    BOOST_TEST(http_get(server, "/socket.io/?EIO=4&transport=polling&sid=nope").first == 400u);

    auto m = server.io().metrics();
    BOOST_TEST(m.value("sio_engine_sessions", {{"transport", "websocket"}}) == 2);
    BOOST_TEST(m.value("sio_engine_sessions", {{"transport", "polling"}}) == 0);
    BOOST_TEST(m.value("sio_engine_sessions_opened_total", {{"transport", "websocket"}}) == 2);
    BOOST_TEST(m.value("sio_engine_handshake_errors_total", {{"code", "1"}}) == 1);
    BOOST_TEST(m.value("sio_engine_handshake_errors_total") == 1);
    BOOST_TEST(m.value("sio_sockets", {{"namespace", "/"}}) == 2);
    BOOST_TEST(m.value("sio_socket_connects_total", {{"recovered", "false"}}) == 2);
    // 3 notes, echo, shout, ask
    BOOST_TEST(m.value("sio_events_received_total") == 6);
    // 2 CONNECTs + 6 events from a; 2 CONNECTs from b
    BOOST_TEST(m.value("sio_engine_messages_received_total", {{"transport", "websocket"}}) == 8);
    const std::string received = R"(0)"
                                 R"(0)"
                                 R"(2["note",1])"
                                 R"(2["note",2])"
                                 R"(2["note",3])"
                                 R"(21["echo","x"])"
                                 R"(2["shout"])"
                                 R"(2["ask"])";
    BOOST_TEST(m.value("sio_engine_received_bytes_total") == static_cast<double>(received.size()));
    // 2 CONNECT answers, the ack, 2 news, the question
    BOOST_TEST(m.value("sio_packets_sent_total") == 6);
    // The open packets and pings are not messages; the 6 packets above are.
    BOOST_TEST(m.value("sio_engine_messages_sent_total") == 6);
    BOOST_TEST(m.value("sio_broadcast_recipients") == 1);          // one broadcast...
    BOOST_TEST(histogram_sum(m, "sio_broadcast_recipients") == 2); // ... to two sockets
    BOOST_TEST(m.value("sio_ack_timeouts_total") == 1);
    BOOST_TEST(m.value("sio_acks_pending") == 0);
    BOOST_TEST(m.value("sio_socket_disconnects_total") == 0);

    b.close();
    BOOST_TEST_REQUIRE(server.log().wait("disconnect transport close"));
    m = server.io().metrics();
    BOOST_TEST(m.value("sio_engine_sessions") == 1);
    BOOST_TEST(m.value("sio_engine_sessions_closed_total", {{"reason", "transport_close"}}) == 1);
    BOOST_TEST(m.value("sio_socket_disconnects_total", {{"reason", "transport_close"}}) == 1);
    BOOST_TEST(m.value("sio_sockets", {{"namespace", "/"}}) == 1);
}

BOOST_AUTO_TEST_CASE(broadcasts_count_every_recipients_packets_and_bytes) {
    // A broadcast's packets are counted in one addition, and a session's messages once per burst it
    // queues: the totals are still one per recipient and packet.
    sio_server server(with_metrics());
    install_handlers(server);
    server.start(2);
    auto a = server.client();
    auto b = server.client();
    auto c = server.client();
    a.connect();
    b.connect();
    c.connect();
    BOOST_TEST_REQUIRE(server.log().wait("connection", 3));
    a.send(R"(421["echo","x"])"); // after the CONNECTs have been counted everywhere
    BOOST_TEST(a.read() == R"(431["x"])");
    const auto before = server.io().metrics();

    a.send(R"(42["chorus"])");
    for (auto* client : {&a, &b, &c})
        for (int i = 1; i <= 3; ++i)
            BOOST_TEST(client->read() == R"(42["news",)" + std::to_string(i) + "]");
    a.send(R"(421["echo","y"])"); // the chorus handler has returned on a's strand before this runs
    BOOST_TEST(a.read() == R"(431["y"])");

    const auto after = server.io().metrics();
    const auto grew = [&](std::string_view name) { return after.value(name) - before.value(name); };
    BOOST_TEST(grew("sio_packets_sent_total") == 10); // 3 broadcasts x 3 sockets, the ack
    BOOST_TEST(grew("sio_engine_messages_sent_total") == 10);
    BOOST_TEST(grew("sio_engine_sent_bytes_total") ==
               9 * std::string(R"(2["news",1])").size() + std::string(R"(31["y"])").size());
    BOOST_TEST(after.value("sio_broadcast_recipients") == 3);
    BOOST_TEST(histogram_sum(after, "sio_broadcast_recipients") == 9);
}

BOOST_AUTO_TEST_CASE(a_tally_counts_its_own_threads_packets_of_its_registry) {
    namespace md = sio::metrics_detail;
    md::registry r;
    md::registry other;
    {
        md::sent_tally tally(r);
        md::count_packet_sent(&r);
        md::count_packet_sent(&other);  // another server's: straight into its counter
        md::count_packet_sent(nullptr); // metrics off
        std::thread([&r] {              // another thread's: not in this thread's tally
            for (int i = 0; i < 100; ++i)
                md::count_packet_sent(&r);
        })
            .join();
        {
            md::sent_tally inner(r); // nested: counts its own packets only
            md::count_packet_sent(&r);
            md::count_packet_sent(&r);
            BOOST_TEST(inner.close() == 2);
            BOOST_TEST(inner.close() == 0); // once
        }
        BOOST_TEST(r.read(md::cell::packets_sent) == 102); // the other thread's and the inner tally's
        md::count_packet_sent(&r);
        BOOST_TEST(tally.close() == 2);
    }
    BOOST_TEST(r.read(md::cell::packets_sent) == 104);
    BOOST_TEST(other.read(md::cell::packets_sent) == 1);
    md::count_packet_sent(&r); // no tally open any more
    BOOST_TEST(r.read(md::cell::packets_sent) == 105);
}

BOOST_AUTO_TEST_CASE(pending_acks_are_a_gauge) {
    sio_server server(with_metrics());
    std::promise<sio::socket> kept;
    server.io().on_connection([&kept](sio::socket s) { kept.set_value(s); });
    server.start();
    auto c = server.client();
    c.connect();
    auto s = kept.get_future().get();
    auto result = server.spawn([](sio::socket s) -> net::awaitable<bool> {
        auto r = co_await s.timeout(std::chrono::seconds(30)).emit_with_ack("q");
        co_return !r.error;
    }(s));
    BOOST_TEST(c.read() == R"(420["q"])");
    // The question is out, so its ack is registered.
    BOOST_TEST(server.io().metrics().value("sio_acks_pending") == 1);
    c.send(R"(430["a"])");
    BOOST_TEST(get(result));
    BOOST_TEST(server.io().metrics().value("sio_acks_pending") == 0);
    BOOST_TEST(server.io().metrics().value("sio_ack_timeouts_total") == 0);
}

BOOST_AUTO_TEST_CASE(the_namespace_label_is_capped) {
    sio_server server(with_metrics(2));
    server.io().of("/a");
    server.io().of("/b");
    server.io().of("/c");
    server.io().of("/d");
    server.start();
    auto c = server.client();
    c.connect("/c");
    c.connect("/d");
    const auto m = server.io().metrics();
    const auto* f = m.find("sio_sockets");
    BOOST_TEST_REQUIRE(f);
    BOOST_TEST(f->samples.size() == 3u); // "/" and "/a", then "other"
    BOOST_TEST(m.value("sio_sockets", {{"namespace", "other"}}) == 2);
    BOOST_TEST(m.value("sio_sockets", {{"namespace", "/c"}}) == 0);
}

BOOST_AUTO_TEST_CASE(socket_counts_follow_connects_and_disconnects_in_each_namespace) {
    sio_server server(with_metrics());
    auto& log = server.log();
    install(server.io().of("/"), log);
    install(server.io().of("/a"), log);
    install(server.io().of("/b"), log);
    install(server.io().of(std::regex("^/dyn-[0-9]+$")), log); // a parent: its children are counted
    server.start(2);
    const auto count = [&server](const std::string& nsp) {
        return server.io().metrics().value("sio_sockets", {{"namespace", nsp}});
    };

    // Connections on two threads, each read between them (a scrape runs while sockets come and go).
    std::vector<sio_client> clients;
    for (int i = 0; i < 12; ++i) {
        clients.push_back(server.client());
        clients.back().connect(i % 3 == 0 ? "/" : "/a");
        if (i % 2 == 0)
            clients.back().connect("/b");
        (void)server.io().metrics();
    }
    auto dyn = server.client();
    dyn.connect("/dyn-1");
    BOOST_TEST_REQUIRE(log.wait("connect /dyn-1"));
    BOOST_TEST(count("/") == 4);
    BOOST_TEST(count("/a") == 8);
    BOOST_TEST(count("/b") == 6);
    BOOST_TEST(count("/dyn-1") == 1);
    BOOST_TEST(server.io().metrics().value("sio_sockets") == 19);

    // A client leaves one namespace; a connection ends (its two sockets go); the server disconnects one.
    clients[1].send("41/a,");
    BOOST_TEST_REQUIRE(log.wait("disconnect /a client namespace disconnect"));
    clients[0].close(); // on "/" and "/b"
    BOOST_TEST_REQUIRE(log.wait("disconnect / transport close"));
    BOOST_TEST_REQUIRE(log.wait("disconnect /b transport close"));
    const auto b_id = clients[2].connect("/dyn-2"); // clients[2] is on "/a" and "/b"
    log.find_socket(b_id).disconnect();
    BOOST_TEST_REQUIRE(log.wait("disconnect /dyn-2 server namespace disconnect"));
    dyn.send("41/dyn-1,");
    BOOST_TEST_REQUIRE(log.wait("disconnect /dyn-1 client namespace disconnect"));
    BOOST_TEST(count("/") == 3);
    BOOST_TEST(count("/a") == 7);
    BOOST_TEST(count("/b") == 5);
    BOOST_TEST(count("/dyn-1") == 0);
    BOOST_TEST(count("/dyn-2") == 0);

    // The socket of a namespace rejoined on the same connection counts again, once.
    clients[1].connect("/a");
    BOOST_TEST_REQUIRE(log.wait("connect /a", 9));
    BOOST_TEST(count("/a") == 8);

    // Every connection ends: every count is back to zero.
    for (std::size_t i = 1; i < clients.size(); ++i)
        clients[i].close();
    dyn.close();
    BOOST_TEST_REQUIRE(log.wait("disconnect / transport close", 4));
    BOOST_TEST_REQUIRE(log.wait("disconnect /a transport close", 8));
    BOOST_TEST_REQUIRE(log.wait("disconnect /b transport close", 6));
    BOOST_TEST(count("/") == 0);
    BOOST_TEST(count("/a") == 0);
    BOOST_TEST(count("/b") == 0);
    BOOST_TEST(server.io().metrics().value("sio_sockets") == 0);
}

BOOST_AUTO_TEST_CASE(a_socket_is_counted_before_anything_sees_it) {
    // The adapter (broadcasts, fetchSockets) sees the socket before the connection handlers: the count
    // includes it by then, and a handler that disconnects it at once takes it back to zero, never below.
    struct watching_adapter : sio::memory_adapter {
        using memory_adapter::memory_adapter;
        void add_socket(const sio::socket& s) override {
            seen->push_back((*io)->metrics().value("sio_sockets", {{"namespace", "/"}}));
            memory_adapter::add_socket(s);
        }
        std::shared_ptr<sio::server*> io;
        std::shared_ptr<std::vector<double>> seen;
    };
    auto io = std::make_shared<sio::server*>(nullptr);
    auto seen = std::make_shared<std::vector<double>>(); // written on the socket's strand, read after
    auto options = with_metrics();
    options.adapter = [io, seen](sio::adapter_host& host) {
        auto a = std::make_unique<watching_adapter>(host);
        a->io = io;
        a->seen = seen;
        return a;
    };
    sio_server server(std::move(options));
    *io = &server.io();
    auto& log = server.log();
    server.io().on_connection([&log, io](sio::socket s) {
        s.disconnect(); // on the socket's strand: done when it returns
        const auto left = (*io)->metrics().value("sio_sockets", {{"namespace", "/"}});
        log.add("gone " + std::to_string(static_cast<int>(left)));
    });
    server.start();
    auto c = server.client();
    c.send("40");
    BOOST_TEST_REQUIRE(log.wait("gone 0"));
    BOOST_TEST_REQUIRE(seen->size() == 1u);
    BOOST_TEST(seen->front() == 1);
    BOOST_TEST(server.io().metrics().value("sio_sockets") == 0);
}

/// The histogram of `name` with transport `transport`.
const sio::metric_histogram& histogram_of(const sio::metrics_snapshot& s, std::string_view name,
                                          const std::string& transport) {
    const auto* f = s.find(name);
    BOOST_TEST_REQUIRE(f);
    for (const auto& h : f->histograms)
        if (h.labels.at("transport") == transport)
            return h;
    throw std::runtime_error("no histogram " + std::string(name) + " for " + transport);
}

/// The cumulative count of `h` at upper bound `le`.
std::uint64_t at_bound(const sio::metric_histogram& h, double le) {
    for (std::size_t i = 0; i < h.bounds.size(); ++i)
        if (h.bounds[i] == le)
            return h.cumulative_counts[i];
    throw std::runtime_error("no bucket " + std::to_string(le));
}

BOOST_AUTO_TEST_CASE(session_durations_are_observed_when_sessions_close) {
    const auto clock = std::make_shared<manual_clock>(); // the server's time moves only when told
    sio_server server(with_metrics());
    on_clock(clock)(server.io().engine());
    install(server.io().of("/"), server.log());
    server.start();
    auto brief = server.client();
    brief.connect();
    clock->advance(std::chrono::milliseconds(40));
    auto longer = server.client();
    longer.connect();
    brief.close(); // 40 ms
    BOOST_TEST_REQUIRE(server.log().wait("disconnect / transport close"));
    clock->advance(std::chrono::milliseconds(12'500));
    longer.close(); // 12.5 s
    BOOST_TEST_REQUIRE(server.log().wait("disconnect / transport close", 2));

    const auto m = server.io().metrics();
    BOOST_TEST(m.value("sio_engine_session_duration_seconds") == 2);
    const auto& ws = histogram_of(m, "sio_engine_session_duration_seconds", "websocket");
    BOOST_TEST(ws.count == 2u);
    BOOST_TEST(ws.sum == 12.54, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(at_bound(ws, 0.01) == 0u);
    BOOST_TEST(at_bound(ws, 0.1) == 1u); // 40 ms
    BOOST_TEST(at_bound(ws, 10) == 1u);
    BOOST_TEST(at_bound(ws, 30) == 2u); // 12.5 s
    BOOST_TEST(ws.cumulative_counts.back() == 2u);
    BOOST_TEST(histogram_of(m, "sio_engine_session_duration_seconds", "polling").count == 0u);

    // In the text format: the transport label before `le`, on the sum and the count too.
    const auto text = sio::to_prometheus(m);
    BOOST_TEST(
        text.find("sio_engine_session_duration_seconds_bucket{transport=\"websocket\",le=\"0.1\"} 1\n") !=
        std::string::npos);
    BOOST_TEST(text.find("sio_engine_session_duration_seconds_sum{transport=\"websocket\"} 12.54\n") !=
               std::string::npos);
    BOOST_TEST(text.find("sio_engine_session_duration_seconds_count{transport=\"polling\"} 0\n") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(ping_round_trips_are_observed_when_pongs_come) {
    const auto clock = std::make_shared<manual_clock>();
    auto options = with_metrics();
    options.engine.ping_interval = std::chrono::milliseconds(1000);
    options.engine.ping_timeout = std::chrono::milliseconds(5000);
    sio_server server(std::move(options));
    on_clock(clock)(server.io().engine());
    server.io().on_connection(
        [](sio::socket s) { s.on("echo", [](sio::socket, std::string x, sio::ack ack) { ack(x); }); });
    server.start();
    auto c = server.client();
    c.answer_pings(false); // the test answers, after the round trip it chooses
    c.connect();
    const auto round_trip = [&](std::chrono::microseconds rtt) {
        clock->advance(std::chrono::milliseconds(1000));
        const auto ping = c.next(io_limit, true);
        BOOST_TEST_REQUIRE(ping.has_value());
        BOOST_TEST_REQUIRE(ping->data == "2");
        clock->advance(rtt);
        c.send("3");
        // The ack comes back after the server read the pong (one connection, read in order).
        c.send(R"(421["echo","after the pong"])");
        BOOST_TEST_REQUIRE(c.read() == R"(431["after the pong"])");
    };
    round_trip(std::chrono::microseconds(700));     // <= 1 ms
    round_trip(std::chrono::microseconds(37'000));  // <= 50 ms
    round_trip(std::chrono::microseconds(300'000)); // <= 0.5 s
    c.send("3");                                    // a pong no ping asked for: no round trip
    c.send(R"(421["echo","after the pong"])");
    BOOST_TEST_REQUIRE(c.read() == R"(431["after the pong"])");

    const auto m = server.io().metrics();
    const auto& ws = histogram_of(m, "sio_engine_ping_rtt_seconds", "websocket");
    BOOST_TEST(ws.count == 3u);
    BOOST_TEST(ws.sum == 0.3377, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(at_bound(ws, 0.0005) == 0u);
    BOOST_TEST(at_bound(ws, 0.001) == 1u);
    BOOST_TEST(at_bound(ws, 0.025) == 1u);
    BOOST_TEST(at_bound(ws, 0.05) == 2u);
    BOOST_TEST(at_bound(ws, 0.25) == 2u);
    BOOST_TEST(at_bound(ws, 0.5) == 3u);
    BOOST_TEST(histogram_of(m, "sio_engine_ping_rtt_seconds", "polling").count == 0u);
    BOOST_TEST(sio::to_prometheus(m).find(
                   "sio_engine_ping_rtt_seconds_bucket{transport=\"websocket\",le=\"0.0005\"} 0\n") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(without_the_option_nothing_is_counted_or_served) {
    sio_server server;
    server.start();
    auto c = server.client();
    c.connect();
    BOOST_TEST(server.io().metrics().families.empty());
    BOOST_TEST(http_get(server, "/metrics").first == 404u);
    BOOST_TEST(http_get(server, "/healthz").first == 404u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http)

BOOST_AUTO_TEST_CASE(metrics_are_served_in_the_prometheus_text_format) {
    sio_server server(with_metrics());
    install_handlers(server);
    server.start();
    auto c = server.client();
    c.connect();
    std::string type;
    const auto [status, body] = http_get(server, "/metrics?x=1", &type);
    BOOST_TEST(status == 200u);
    BOOST_TEST(type == "text/plain; version=0.0.4; charset=utf-8");
    BOOST_TEST(body.find("# TYPE sio_engine_sessions gauge\n") != std::string::npos);
    BOOST_TEST(body.find("sio_engine_sessions{transport=\"websocket\"} 1\n") != std::string::npos);
    BOOST_TEST(body.find("sio_sockets{namespace=\"/\"} 1\n") != std::string::npos);
    BOOST_TEST(body.find("sio_broadcast_recipients_bucket{le=\"+Inf\"} 0\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_health_check_follows_the_adapter) {
    // An adapter whose link to the other servers is down until the test says otherwise.
    struct flaky_adapter : sio::memory_adapter {
        using memory_adapter::memory_adapter;
        bool connected() const noexcept override { return up->load(); }
        std::shared_ptr<std::atomic<bool>> up;
    };
    auto up = std::make_shared<std::atomic<bool>>(true);
    auto options = with_metrics();
    options.adapter = [up](sio::adapter_host& host) {
        auto a = std::make_unique<flaky_adapter>(host);
        a->up = up;
        return a;
    };
    sio_server server(std::move(options));
    server.start();
    const auto [ok_status, ok_body] = http_get(server, "/healthz");
    BOOST_TEST(ok_status == 200u);
    BOOST_TEST(ok_body == "ok\n");
    up->store(false);
    const auto [status, body] = http_get(server, "/healthz");
    BOOST_TEST(status == 503u);
    BOOST_TEST(body == "adapter of / not connected\n");
}

BOOST_AUTO_TEST_CASE(promtool_accepts_a_scrape_taken_under_traffic) {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        BOOST_TEST_MESSAGE("SKIPPED: promtool not found (Debian package `prometheus`); the scrape is not "
                           "checked");
        return;
    }
    auto options = with_metrics(2); // "/", the escaped name, then "other"
    sio_server server(std::move(options));
    install_handlers(server);
    server.io().of("/weird \"name\"\\");
    server.io().of("/z");
    server.start(2);
    auto a = server.client();
    auto b = server.client();
    a.connect();
    b.connect("/weird \"name\"\\");
    for (int i = 0; i < 20; ++i) {
        a.send(R"(42["shout"])");
        BOOST_TEST(a.read() == R"(42["news",1])");
    }
    a.send(R"(42["ask"])");
    BOOST_TEST(a.read() == R"(420["q"])");
    const auto [status, body] = http_get(server, "/metrics");
    BOOST_TEST_REQUIRE(status == 200u);
    const std::string path = "metrics_test_scrape.prom"; // kept in the test's directory as an artefact
    std::ofstream(path, std::ios::binary) << body;
    const int rc =
        std::system(("promtool check metrics < " + path + " > metrics_test_promtool.txt 2>&1").c_str());
    std::ifstream out("metrics_test_promtool.txt");
    const std::string report((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
    BOOST_TEST_INFO("promtool: " << report);
    BOOST_TEST(rc == 0);
    BOOST_TEST(report.empty()); // no lint warning either
}

BOOST_AUTO_TEST_SUITE_END()
