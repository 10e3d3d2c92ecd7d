// Metrics of what happens less often than traffic: each is made to happen and its exact count checked —
// a middleware's refusal, an upgrade from polling, the bytes sent, a volatile packet and a full queue
// dropped, connection state recoveries, and requests to the other servers of a cluster (one of which
// never answers).
#include <sio/sio.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "support/bus_adapter.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;
using namespace std::chrono_literals;

namespace {

sio::server_options with_metrics() {
    sio::server_options o;
    o.metrics = sio::metrics_options{};
    return o;
}

/// Waits until metric `name` (with `labels`) reaches `value`: the hooks run on the server's threads, after
/// what the client can see of them.
bool reaches(sio_server& server, std::string_view name, const std::map<std::string, std::string>& labels,
             double value) {
    const auto deadline = std::chrono::steady_clock::now() + io_limit;
    while (server.io().metrics().value(name, labels) < value)
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        else
            std::this_thread::yield();
    return true;
}

const std::string polling = "/socket.io/?EIO=4&transport=polling";

/// A polling handshake: the Engine.IO session id.
std::string open_polling(test_client& c) {
    const auto r = c.request(get_request(polling));
    BOOST_TEST_REQUIRE(r.result_int() == 200u);
    return std::string(boost::json::parse(r.body().substr(1)).at("sid").as_string());
}
void post(test_client& c, const std::string& sid, std::string body) {
    BOOST_TEST_REQUIRE(c.request(post_request(polling + "&sid=" + sid, std::move(body))).result_int() ==
                       200u);
}
std::string poll(test_client& c, const std::string& sid) {
    const auto r = c.request(get_request(polling + "&sid=" + sid));
    BOOST_TEST_REQUIRE(r.result_int() == 200u);
    return r.body();
}

/// A polling client joined to "/": its socket (kept by the server's recorder).
sio::socket join_by_polling(sio_server& server, test_client& c, std::string& sid) {
    sid = open_polling(c);
    post(c, sid, "40");
    const auto answer = poll(c, sid); // the CONNECT answer: nothing is queued after it
    BOOST_TEST_REQUIRE(answer.starts_with("40{"));
    const auto id = std::string(boost::json::parse(answer.substr(2)).at("sid").as_string());
    return server.log().find_socket(id);
}

sio::server_options on_bus(bus& b, std::string uid, bool deaf) {
    auto o = with_metrics();
    o.adapter = bus_adapter::factory(b, std::move(uid), deaf, 200ms);
    return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(outcomes)

BOOST_AUTO_TEST_CASE(a_refused_namespace_connection_is_a_connect_error) {
    sio_server server(with_metrics());
    server.io().of("/guarded").use([](sio::socket) -> std::optional<sio::middleware_error> {
        return sio::middleware_error{"no", nullptr};
    });
    server.start();
    auto c = server.client();
    c.send("40/guarded,");
    BOOST_TEST(c.read() == R"(44/guarded,{"message":"no"})");
    c.connect("/");
    const auto m = server.io().metrics();
    BOOST_TEST(m.value("sio_socket_connect_errors_total") == 1);
    BOOST_TEST(m.value("sio_socket_connects_total") == 1);
}

BOOST_AUTO_TEST_CASE(the_bytes_sent_are_the_payloads_of_the_messages) {
    sio_server server(with_metrics());
    server.io().on_connection(
        [](sio::socket s) { s.on("echo", [](sio::socket, std::string x, sio::ack ack) { ack(x); }); });
    server.start();
    auto c = server.client();
    c.send("40");
    const auto answer = c.read();
    c.send(R"(421["echo","xyz"])");
    const auto ack = c.read();
    BOOST_TEST(ack == R"(431["xyz"])");
    const auto m = server.io().metrics();
    // Without the Engine.IO type: `0{"sid":...}` and `31["xyz"]`.
    BOOST_TEST(m.value("sio_engine_sent_bytes_total", {{"transport", "websocket"}}) ==
               static_cast<double>(answer.size() - 1 + ack.size() - 1));
    BOOST_TEST(m.value("sio_engine_sent_bytes_total", {{"transport", "polling"}}) == 0);
    BOOST_TEST(m.value("sio_engine_messages_sent_total") == 2);
}

BOOST_AUTO_TEST_CASE(an_upgrade_moves_a_session_from_polling_to_websocket) {
    sio_server server(with_metrics());
    server.io().on_connection([&server](sio::socket s) {
        server.log().keep(s);
        s.on("echo", [](sio::socket, std::string x, sio::ack ack) { ack(x); });
    });
    server.start();
    net::io_context ioc;
    test_client c(ioc, server.port());
    std::string sid;
    (void)join_by_polling(server, c, sid);
    BOOST_TEST(server.io().metrics().value("sio_engine_upgrades_total") == 0);

    test_client ws(ioc, server.port());
    BOOST_TEST_REQUIRE(
        ws.request(upgrade_request("/socket.io/?EIO=4&transport=websocket&sid=" + sid)).result_int() == 101u);
    ws.send_text("2probe");
    BOOST_TEST_REQUIRE(ws.read_text() == "3probe");
    ws.send_text("5");
    ws.send_text(R"(421["echo","u"])"); // read after the upgrade is complete
    BOOST_TEST(ws.read_text() == R"(431["u"])");
    const auto m = server.io().metrics();
    BOOST_TEST(m.value("sio_engine_upgrades_total") == 1);
    BOOST_TEST(m.value("sio_engine_sessions_opened_total", {{"transport", "polling"}}) == 1);
    BOOST_TEST(m.value("sio_engine_sessions", {{"transport", "polling"}}) == 0);
    BOOST_TEST(m.value("sio_engine_sessions", {{"transport", "websocket"}}) == 1);
}

BOOST_AUTO_TEST_CASE(a_volatile_packet_the_transport_cannot_take_is_dropped) {
    sio_server server(with_metrics());
    server.io().on_connection([&server](sio::socket s) { server.log().keep(s); });
    server.start();
    net::io_context ioc;
    test_client c(ioc, server.port());
    std::string sid;
    auto s = join_by_polling(server, c, sid);
    // No GET is waiting: the polling transport cannot write, so a volatile packet is dropped.
    s.volatile_().emit("lost", 1);
    s.emit("kept", 2);
    // Queued in order: once "kept" is (the CONNECT answer was the first message), "lost" was dropped.
    BOOST_TEST_REQUIRE(reaches(server, "sio_engine_messages_sent_total", {}, 2));
    BOOST_TEST(server.io().metrics().value("sio_engine_dropped_messages_total", {{"cause", "volatile"}}) ==
               1);
    BOOST_TEST(poll(c, sid) == R"(42["kept",2])");
    BOOST_TEST(server.io().metrics().value("sio_engine_dropped_messages_total") == 1);
}

BOOST_AUTO_TEST_CASE(a_full_queue_drops_by_the_overflow_policy) {
    auto options = with_metrics();
    options.engine.max_queued_packets = 2;
    options.engine.on_overflow = sio::overflow_policy::drop;
    sio_server server(std::move(options));
    server.io().on_connection([&server](sio::socket s) { server.log().keep(s); });
    server.start();
    net::io_context ioc;
    test_client c(ioc, server.port());
    std::string sid;
    auto s = join_by_polling(server, c, sid);
    s.emit("a", 1);
    s.emit("b", 2);
    s.emit("c", 3); // a third packet while two wait for a GET
    BOOST_TEST_REQUIRE(reaches(server, "sio_engine_messages_sent_total", {}, 3));
    const auto m = server.io().metrics();
    BOOST_TEST(m.value("sio_engine_dropped_messages_total", {{"cause", "overflow_drop"}}) == 1);
    BOOST_TEST(m.value("sio_engine_dropped_messages_total") == 1);
    BOOST_TEST(poll(c, sid) == "42[\"a\",1]\x1e"
                               "42[\"b\",2]");
}

BOOST_AUTO_TEST_CASE(recoveries_count_both_outcomes) {
    auto options = with_metrics();
    options.connection_state_recovery = sio::connection_state_recovery_options{};
    sio_server server(std::move(options));
    server.io().on_connection([&server](sio::socket s) {
        s.on_disconnect([&server](sio::socket, sio::disconnect_reason r) {
            server.log().add("disconnect " + std::string(sio::to_string(r)));
        });
    });
    server.start();
    auto c = server.client();
    c.send("40");
    const auto first = boost::json::parse(c.read().substr(2)).as_object();
    const std::string pid(first.at("pid").as_string());
    c.close();
    BOOST_TEST_REQUIRE(server.log().wait("disconnect transport close"));

    auto back = server.client();
    back.send("40" + boost::json::serialize(boost::json::object{{"pid", pid}}));
    BOOST_TEST(boost::json::parse(back.read().substr(2)).at("sid") == first.at("sid"));
    auto stranger = server.client();
    stranger.send(R"(40{"pid":"unknown-private-id"})");
    BOOST_TEST(stranger.read().starts_with("40{"));

    const auto m = server.io().metrics();
    BOOST_TEST(m.value("sio_recoveries_total", {{"result", "recovered"}}) == 1);
    BOOST_TEST(m.value("sio_recoveries_total", {{"result", "not_recovered"}}) == 1);
    BOOST_TEST(m.value("sio_socket_connects_total", {{"recovered", "true"}}) == 1);
    BOOST_TEST(m.value("sio_socket_connects_total", {{"recovered", "false"}}) == 2);
}

BOOST_AUTO_TEST_CASE(requests_to_a_silent_server_time_out) {
    bus medium;
    sio_server one{on_bus(medium, "one", false)};
    sio_server deaf{on_bus(medium, "deaf", true)}; // hears nothing, answers nothing
    deaf.io().of("/");
    one.start();
    deaf.start();
    auto fetched = one.spawn(one.io().fetch_sockets());
    BOOST_TEST(get(fetched).silent == std::vector<std::string>{"deaf"});
    auto count = one.spawn(one.io().server_count());
    BOOST_TEST(get(count) == 2u);
    const auto m = one.io().metrics();
    BOOST_TEST(m.value("sio_adapter_requests_total", {{"op", "fetch_sockets"}}) == 1);
    BOOST_TEST(m.value("sio_adapter_request_timeouts_total", {{"op", "fetch_sockets"}}) == 1);
    BOOST_TEST(m.value("sio_adapter_requests_total", {{"op", "server_count"}}) == 1);
    BOOST_TEST(m.value("sio_adapter_requests_total") == 2);
    BOOST_TEST(m.value("sio_adapter_request_timeouts_total") == 1);
}

BOOST_AUTO_TEST_CASE(the_memory_adapter_asks_no_other_server) {
    sio_server server(with_metrics());
    server.start();
    auto fetched = server.spawn(server.io().fetch_sockets());
    BOOST_TEST(get(fetched).size() == 0u);
    auto count = server.spawn(server.io().server_count());
    BOOST_TEST(get(count) == 1u);
    BOOST_TEST(server.io().metrics().value("sio_adapter_requests_total") == 0);
}

BOOST_AUTO_TEST_CASE(the_build_is_a_gauge_labelled_with_the_version) {
    sio_server server(with_metrics());
    const auto version = std::to_string(SIO_VERSION_MAJOR) + "." + std::to_string(SIO_VERSION_MINOR) + "." +
                         std::to_string(SIO_VERSION_PATCH);
    const auto m = server.io().metrics();
    BOOST_TEST(m.value("sio_build_info", {{"version", version}}) == 1);
    BOOST_TEST(m.value("sio_build_info") == 1);
}

BOOST_AUTO_TEST_SUITE_END()
