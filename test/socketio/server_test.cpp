// Loopback tests of the Socket.IO layer: namespaces (static and dynamic), connect middlewares, the
// handshake, events and acknowledgements (text and binary), rooms and broadcasting, disconnection reasons,
// the connection's reaction to every Socket.IO input of docs/hostile-input.md, and concurrent
// use of the public API from many threads.
//
// The server runs on its own io_context in background threads. Each client is a raw WebSocket connection
// (support/loopback_client.hpp) speaking Engine.IO/Socket.IO text frames byte for byte: `40`, `42[...]`,
// `451-[...]` + a binary frame, and so on. Every client operation has a deadline; server-side events are
// recorded and waited for on a condition variable with a timeout. No sleep is used as synchronisation:
// where a test needs the server to have processed a packet, it sends a marker packet after it and waits for
// the marker (packets of one connection are handled in order on its strand).
#include <sio/sio.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "support/manual_time.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;

namespace sio {
std::ostream& operator<<(std::ostream& os, disconnect_reason r) {
    return os << to_string(r);
}
} // namespace sio

namespace {

/// Closes `io` gracefully and reports how many Engine.IO sessions were left after.
net::awaitable<std::size_t> close_and_report(sio::server& io, std::chrono::milliseconds deadline) {
    co_await io.close(deadline);
    co_return io.engine().clients_count();
}

std::string str(sio::disconnect_reason r) {
    return std::string(sio::to_string(r));
}

/// A namespace that records connections and disconnections, keeps its sockets, echoes `echo` events and
/// records `mark` events.
void install_echo(sio::namespace_ nsp, recorder& log) {
    nsp.on_connection([&log](sio::socket s) {
        log.keep(s);
        log.add("connect " + s.nsp());
        s.on("echo", [](sio::socket s, sio::event& ev) { s.emit_arguments("echo", ev.args); });
        s.on("mark", [&log](sio::socket s) { log.add("mark " + s.nsp()); });
        s.on_disconnect([&log](sio::socket s, sio::disconnect_reason r) {
            log.add("disconnect " + s.nsp() + " " + str(r));
        });
    });
}

/// A new client can still join "/" (with `install_echo`) and get an answer.
void check_still_serving(sio_server& ts) {
    auto c = ts.client();
    c.connect();
    c.send(R"(42["echo","still serving"])");
    BOOST_TEST(c.read() == R"(42["echo","still serving"])");
}

/// An attachment placeholder.
std::string ph(int n) {
    return R"({"_placeholder":true,"num":)" + std::to_string(n) + "}";
}

// A user type with a binary member, converted with value_from / value_to.
struct file {
    std::string name;
    sio::binary data;
};
void tag_invoke(json::value_from_tag, json::value& v, const file& f) {
    v = json::object{{"name", f.name}, {"data", json::value_from(f.data)}};
}
file tag_invoke(json::value_to_tag<file>, const json::value& v) {
    return {json::value_to<std::string>(v.at("name")), json::value_to<sio::binary>(v.at("data"))};
}

} // namespace

// =====================================================================================================
// Namespaces
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(namespaces)

BOOST_AUTO_TEST_CASE(main_and_custom_namespaces_share_one_connection) {
    sio_server ts;
    install_echo(ts.io().of("/"), ts.log());
    install_echo(ts.io().of("/custom"), ts.log());
    ts.start();

    auto c = ts.client();
    const std::string main_id = c.connect();
    const std::string custom_id = c.connect("/custom");
    BOOST_TEST(main_id.size() == 20u);
    BOOST_TEST(custom_id.size() == 20u);
    BOOST_TEST(main_id != custom_id);
    BOOST_TEST(main_id != c.eio_sid());
    BOOST_TEST(custom_id != c.eio_sid());

    // Each namespace has its own socket, and packets are routed by namespace.
    const auto main_socket = ts.log().find_socket(main_id);
    const auto custom_socket = ts.log().find_socket(custom_id);
    BOOST_TEST(main_socket.nsp() == "/");
    BOOST_TEST(custom_socket.nsp() == "/custom");
    c.send(R"(42/custom,["echo","to custom"])");
    BOOST_TEST(c.read() == R"(42/custom,["echo","to custom"])");
    c.send(R"(42["echo","to main"])");
    BOOST_TEST(c.read() == R"(42["echo","to main"])");
    custom_socket.emit("hello", 1);
    main_socket.emit("hello", 2);
    BOOST_TEST(c.read() == R"(42/custom,["hello",1])");
    BOOST_TEST(c.read() == R"(42["hello",2])");
    BOOST_TEST(ts.io().of("/custom").sockets().size() == 1u);
    BOOST_TEST(ts.io().of("/").sockets().size() == 1u);
}

BOOST_AUTO_TEST_CASE(unknown_namespace_is_refused_and_the_connection_kept) {
    sio_server ts;
    install_echo(ts.io().of("/"), ts.log());
    ts.start();

    auto c = ts.client();
    c.send("40/x,");
    BOOST_TEST(c.read() == R"(44/x,{"message":"Invalid namespace"})");
    c.send(R"(40/y,{"token":"abc"})");
    BOOST_TEST(c.read() == R"(44/y,{"message":"Invalid namespace"})");
    c.send("40/with space,");
    BOOST_TEST(c.read() == R"(44/with space,{"message":"Invalid namespace"})");
    c.send("40/q?x=1,");
    BOOST_TEST(c.read() == R"(44/q?x=1,{"message":"Invalid namespace"})");
    // The connection is still usable, and the refused namespace can be asked again.
    c.connect();
    c.send(R"(42["echo",1])");
    BOOST_TEST(c.read() == R"(42["echo",1])");
    c.send("40/x,");
    BOOST_TEST(c.read() == R"(44/x,{"message":"Invalid namespace"})");
}

BOOST_AUTO_TEST_CASE(dynamic_namespace_by_regex_inherits_middlewares_and_handlers) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    auto parent = ts.io().of(std::regex("^/dyn-[0-9]+$"));
    parent.use([&log](sio::socket s) -> std::optional<sio::middleware_error> {
        log.add("parent middleware " + s.nsp());
        return std::nullopt;
    });
    install_echo(parent, log);
    ts.start();

    auto c = ts.client();
    const std::string id1 = c.connect("/dyn-1");
    const std::string id2 = c.connect("/dyn-22");
    BOOST_TEST(log.wait("connect /dyn-1"));
    BOOST_TEST(log.wait("connect /dyn-22"));
    BOOST_TEST(log.count("parent middleware /dyn-1") == 1u);
    BOOST_TEST(log.count("parent middleware /dyn-22") == 1u);
    BOOST_TEST(ts.log().find_socket(id1).nsp() == "/dyn-1");
    c.send(R"(42/dyn-1,["echo","dynamic"])");
    BOOST_TEST(c.read() == R"(42/dyn-1,["echo","dynamic"])");

    // The parent sees its children's sockets and broadcasts to them.
    BOOST_TEST(parent.sockets().size() == 2u);
    parent.emit("from-parent");
    std::set<std::string> got{c.read(), c.read()};
    BOOST_TEST((got == std::set<std::string>{R"(42/dyn-1,["from-parent"])", R"(42/dyn-22,["from-parent"])"}));
    // An existing child is a namespace like any other.
    BOOST_TEST(ts.io().of("/dyn-1").sockets().size() == 1u);

    // Names that do not match are refused.
    c.send("40/dyn-x,");
    BOOST_TEST(c.read() == R"(44/dyn-x,{"message":"Invalid namespace"})");
    c.send("40/dyn-1/more,");
    BOOST_TEST(c.read() == R"(44/dyn-1/more,{"message":"Invalid namespace"})");
    BOOST_TEST(log.starting_with("parent middleware").size() == 2u);
}

BOOST_AUTO_TEST_CASE(dynamic_namespace_by_predicate_sees_the_auth_payload) {
    sio_server ts;
    auto& log = ts.log();
    auto parent = ts.io().of([](std::string_view name, const json::object& auth) {
        const auto* allow = auth.if_contains("allow");
        return name.starts_with("/p") && allow && *allow == true;
    });
    install_echo(parent, log);
    ts.start();

    auto c = ts.client();
    c.connect("/p1", R"({"allow":true})");
    BOOST_TEST(log.wait("connect /p1"));
    c.send(R"(40/p2,{"allow":false})");
    BOOST_TEST(c.read() == R"(44/p2,{"message":"Invalid namespace"})");
    c.send("40/p3,");
    BOOST_TEST(c.read() == R"(44/p3,{"message":"Invalid namespace"})");
    c.send(R"(40/q,{"allow":true})");
    BOOST_TEST(c.read() == R"(44/q,{"message":"Invalid namespace"})");
    // Once created, the child exists for everybody (like the reference's `_nsps`).
    auto d = ts.client();
    d.connect("/p1");
    BOOST_TEST(log.wait("connect /p1", 2));
}

// One namespace per dynamic name; `cleanup_empty_child_namespaces` removes it when its last socket
// leaves (observed through `io.of(name)`, which returns the existing child while it exists).
BOOST_AUTO_TEST_CASE(empty_child_namespaces_are_removed_when_asked) {
    for (const bool cleanup : {false, true}) {
        BOOST_TEST_CONTEXT("cleanup_empty_child_namespaces " << cleanup) {
            sio::server_options options;
            options.cleanup_empty_child_namespaces = cleanup;
            sio_server ts(options);
            install_echo(ts.io().of("/"), ts.log());
            install_echo(ts.io().of(std::regex("^/dyn-[0-9]+$")), ts.log());
            ts.start();

            auto c = ts.client();
            c.connect();
            c.connect("/dyn-7");
            auto d = ts.client();
            d.connect("/dyn-7");
            const auto child = ts.io().of("/dyn-7");
            BOOST_TEST(child.sockets().size() == 2u);

            c.send("41/dyn-7,");
            c.send(R"(42["mark"])"); // handled after the disconnection, on the same strand
            BOOST_TEST(ts.log().wait("mark /"));
            BOOST_TEST((ts.io().of("/dyn-7") == child)); // one socket left: kept

            d.send("41/dyn-7,");
            d.connect();
            d.send(R"(42["mark"])");
            BOOST_TEST(ts.log().wait("mark /", 2));
            BOOST_TEST(ts.log().count("disconnect /dyn-7 client namespace disconnect") == 2u);
            BOOST_TEST((ts.io().of("/dyn-7") == child) == !cleanup);
        }
    }
}

BOOST_AUTO_TEST_CASE(connect_timeout_closes_a_connection_that_joins_nothing) {
    const auto clock = std::make_shared<manual_clock>();
    sio::server_options options;
    options.connect_timeout = 300ms;
    sio_server ts(options);
    on_clock(clock)(ts.io().engine());
    install_echo(ts.io().of("/"), ts.log());
    ts.start();

    // Each connection's timer starts before the server answers the WebSocket handshake.
    auto joined = ts.client();
    joined.connect();
    auto refused = ts.client(); // asks only for a namespace that does not exist
    refused.send("40/nope,");
    BOOST_TEST(refused.read() == R"(44/nope,{"message":"Invalid namespace"})");
    auto idle = ts.client();
    clock->advance(300ms);
    BOOST_TEST(idle.closed());
    BOOST_TEST(refused.closed());
    // The client that joined in time is still served (its timer would have fired first).
    joined.send(R"(42["echo","alive"])");
    BOOST_TEST(joined.read() == R"(42["echo","alive"])");
    check_still_serving(ts);
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Connect middlewares and the handshake
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(middlewares)

BOOST_AUTO_TEST_CASE(sync_and_coroutine_middlewares_run_in_order) {
    sio_server ts;
    auto& log = ts.log();
    auto nsp = ts.io().of("/");
    nsp.use([&log](sio::socket) -> std::optional<sio::middleware_error> {
        log.add("sync");
        return std::nullopt;
    });
    nsp.use([&log](sio::socket s) -> net::awaitable<std::optional<sio::middleware_error>> {
        // A real suspension: the connection must wait for it.
        net::steady_timer t(s.executor(), 20ms);
        co_await t.async_wait(net::use_awaitable);
        log.add("coroutine");
        co_return std::nullopt;
    });
    install_echo(nsp, log);
    ts.start();

    auto c = ts.client();
    c.connect();
    BOOST_TEST(log.wait("connect /"));
    const std::vector<std::string> expected{"sync", "coroutine", "connect /"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(refusal_is_a_connect_error_with_message_and_data) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    auto admin = ts.io().of("/admin");
    admin.use([](sio::socket s) -> std::optional<sio::middleware_error> {
        if (s.handshake().auth.contains("token"))
            return std::nullopt;
        return sio::middleware_error{"not authorized", json::object{{"code", 42}}};
    });
    admin.use([](sio::socket s) -> net::awaitable<std::optional<sio::middleware_error>> {
        if (s.handshake().auth.at("token") == "throw")
            throw std::runtime_error("middleware failed");
        if (s.handshake().auth.at("token") == "coro")
            co_return sio::middleware_error{"refused by a coroutine", nullptr};
        co_return std::nullopt;
    });
    install_echo(admin, log);
    auto locked = ts.io().of("/locked");
    locked.use([](sio::socket) -> std::optional<sio::middleware_error> {
        return sio::middleware_error{"no", nullptr};
    });
    ts.start();

    auto c = ts.client();
    c.send("40/admin,");
    BOOST_TEST(c.read() == R"(44/admin,{"message":"not authorized","data":{"code":42}})");
    c.send(R"(40/admin,{"token":"throw"})");
    BOOST_TEST(c.read() == R"(44/admin,{"message":"middleware failed"})");
    c.send(R"(40/admin,{"token":"coro"})");
    BOOST_TEST(c.read() == R"(44/admin,{"message":"refused by a coroutine"})");
    c.send("40/locked,");
    BOOST_TEST(c.read() == R"(44/locked,{"message":"no"})");
    BOOST_TEST(log.count("connect /admin") == 0u);
    // The connection stays usable: a refused namespace can be retried, others joined.
    c.connect("/admin", R"({"token":"ok"})");
    BOOST_TEST(log.wait("connect /admin"));
    c.connect();
    c.send(R"(42/admin,["echo","in"])");
    BOOST_TEST(c.read() == R"(42/admin,["echo","in"])");
}

BOOST_AUTO_TEST_CASE(refusal_of_the_main_namespace) {
    sio_server ts;
    ts.io().of("/").use([](sio::socket) -> std::optional<sio::middleware_error> {
        return sio::middleware_error{"go away", json::array{1, 2}};
    });
    ts.start();
    auto c = ts.client();
    c.send("40");
    BOOST_TEST(c.read() == R"(44{"message":"go away","data":[1,2]})");
}

BOOST_AUTO_TEST_CASE(handshake_fields_are_visible_to_middlewares_and_handlers) {
    sio_server ts;
    auto& log = ts.log();
    std::mutex m;
    std::vector<sio::handshake> seen;
    std::vector<std::string> ids;
    auto nsp = ts.io().of("/");
    nsp.use([&](sio::socket s) -> std::optional<sio::middleware_error> {
        std::lock_guard lock(m);
        seen.push_back(s.handshake());
        ids.push_back(s.id());
        return std::nullopt;
    });
    nsp.on_connection([&](sio::socket s) {
        {
            std::lock_guard lock(m);
            seen.push_back(s.handshake());
            ids.push_back(s.id());
        }
        log.add("connected");
    });
    ts.start();

    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    auto c = ts.client("&token=abc&x=%20y", {{"X-Custom", "hello"}, {"Origin", "http://example.com"}});
    const std::string id = c.connect("/", R"({"user":"ann","n":1})");
    BOOST_TEST(log.wait("connected"));
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();

    std::lock_guard lock(m);
    BOOST_TEST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(ids[0] == id);
    BOOST_TEST(ids[1] == id);
    BOOST_TEST(id.size() == 20u);
    BOOST_TEST(id != c.eio_sid());
    for (const auto& hs : seen) {
        BOOST_TEST((hs.auth == json::object{{"user", "ann"}, {"n", 1}}));
        using query = std::vector<std::pair<std::string, std::string>>;
        const query expected{{"EIO", "4"}, {"transport", "websocket"}, {"token", "abc"}, {"x", " y"}};
        BOOST_TEST((hs.query == expected));
        BOOST_TEST(hs.headers.get("x-custom").value_or("") == "hello");
        BOOST_TEST(hs.address == "127.0.0.1");
        BOOST_TEST(hs.url == std::string(sio_target) + "&token=abc&x=%20y");
        BOOST_TEST(hs.issued >= before);
        BOOST_TEST(hs.issued <= after);
        BOOST_TEST(!hs.time.empty());
        BOOST_TEST(hs.xdomain);
        BOOST_TEST(!hs.secure);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Events and acknowledgements
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(events)

BOOST_AUTO_TEST_CASE(typed_raw_and_numeric_handlers) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) {
        s.on("typed", [&log](sio::socket, std::string text, int n) {
            log.add("typed " + text + " " + std::to_string(n));
        });
        s.on("sum", [](sio::socket, int a, int b, sio::ack ack) { ack(a + b); });
        s.on("raw", [&log](sio::socket, sio::event& ev) {
            log.add("raw " + ev.name + " " + json::serialize(ev.args.values));
            ev.ack.send(ev.args);
        });
        s.on("none", [&log](sio::socket) { log.add("none"); });
        s.on("42", [&log](sio::socket, std::string v) { log.add("numeric 42 " + v); });
        s.on("mark", [&log](sio::socket) { log.add("mark"); });
    });
    ts.start();

    auto c = ts.client();
    c.connect();
    c.send(R"(42["typed","a",1])");
    c.send(R"(42["typed","b","not a number"])"); // does not convert: dropped
    c.send(R"(42["typed","c"])");                // missing argument: dropped
    c.send(R"(42["typed","d",4,"extra"])");      // extra arguments are ignored
    c.send(R"(427["sum",2,3])");
    BOOST_TEST(c.read() == "437[5]");
    c.send(R"(4212["raw",1,{"a":[2]},null])");
    BOOST_TEST(c.read() == R"(4312[1,{"a":[2]},null])");
    c.send(R"(42["raw"])"); // no ack asked: sending one does nothing
    c.send(R"(42["none","ignored"])");
    c.send(R"(42[42,"x"])");
    c.send(R"(42["unknown event"])");
    c.send(R"(42["mark"])");
    BOOST_TEST(log.wait("mark"));
    const std::vector<std::string> expected{"typed a 1",  "typed d 4", R"(raw raw [1,{"a":[2]},null])",
                                            "raw raw []", "none",      "numeric 42 x",
                                            "mark"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_ack_is_sent_once) {
    sio_server ts;
    ts.io().on_connection([](sio::socket s) {
        s.on("twice", [](sio::socket s, sio::event& ev) {
            const bool before = static_cast<bool>(ev.ack);
            ev.ack("first");
            ev.ack("second");
            s.emit("after", before, static_cast<bool>(ev.ack));
        });
        s.on("later", [](sio::socket s, sio::event& ev) {
            // An ack kept past the handler and used from another thread.
            std::thread([ack = ev.ack] { ack("from a thread"); }).join();
            s.emit("after-thread");
        });
    });
    ts.start();

    auto c = ts.client();
    c.connect();
    c.send(R"(423["twice"])");
    BOOST_TEST(c.read() == R"(433["first"])");
    BOOST_TEST(c.read() == R"(42["after",true,false])");
    c.send(R"(42["twice"])");
    BOOST_TEST(c.read() == R"(42["after",false,false])");
    // The other thread's ack hops onto the strand after the handler: either order is right.
    c.send(R"(424["later"])");
    const std::set<std::string> got{c.read(), c.read()};
    BOOST_TEST((got == std::set<std::string>{R"(434["from a thread"])", R"(42["after-thread"])"}));
}

// A coroutine handler awaiting an acknowledgement from its own client does not block that client's other
// packets.
BOOST_AUTO_TEST_CASE(coroutine_handler_awaits_the_same_client) {
    sio_server ts;
    install_echo(ts.io().of("/"), ts.log());
    ts.io().on_connection([](sio::socket s) {
        s.on("ask", [](sio::socket s, sio::event ev) -> net::awaitable<void> {
            auto r = co_await s.emit_with_ack("question", ev.args.get<int>(0));
            s.emit("answered", r.error.value(), r.args.values);
        });
    });
    auto coro = ts.io().of("/coro");
    coro.on_connection(
        std::function<net::awaitable<void>(sio::socket)>([](sio::socket s) -> net::awaitable<void> {
            auto r = co_await s.timeout(2s).emit_with_ack("who");
            s.emit("welcome", r.args.get<std::string>(0));
        }));
    ts.start();

    auto c = ts.client();
    c.connect();
    c.send(R"(42["ask",7])");
    BOOST_TEST(c.read() == R"(420["question",7])");
    c.send(R"(42["echo","meanwhile"])");
    BOOST_TEST(c.read() == R"(42["echo","meanwhile"])");
    c.send(R"(430["answer",{"x":1}])");
    BOOST_TEST(c.read() == R"(42["answered",0,["answer",{"x":1}]])");

    c.connect("/coro");
    BOOST_TEST(c.read() == R"(42/coro,0["who"])");
    c.send(R"(43/coro,0["ann"])");
    BOOST_TEST(c.read() == R"(42/coro,["welcome","ann"])");
}

BOOST_AUTO_TEST_CASE(emit_with_ack_with_and_without_timeout) {
    const auto clock = std::make_shared<manual_clock>();
    sio_server ts;
    on_clock(clock)(ts.io().engine());
    install_echo(ts.io().of("/"), ts.log());
    ts.start();

    auto c = ts.client();
    const auto s = ts.log().find_socket(c.connect());

    // Without a timeout: waits for the answer.
    auto answered = ts.spawn(s.emit_with_ack("q", 1, "two"));
    BOOST_TEST(c.read() == R"(420["q",1,"two"])");
    c.send(R"(430[{"ok":true},3])");
    auto r = get(answered);
    BOOST_TEST(!r.error);
    BOOST_TEST(json::serialize(r.args.values) == R"([{"ok":true},3])");

    // With a timeout: the error value, and no arguments. (The timer starts before the packet is sent.)
    auto late = ts.spawn(s.timeout(200ms).emit_with_ack("slow"));
    BOOST_TEST(c.read() == R"(421["slow"])");
    clock->advance(200ms);
    r = get(late);
    BOOST_TEST((r.error == sio::error::ack_timeout));
    BOOST_TEST(r.error.message() == "operation has timed out");
    BOOST_TEST(r.args.size() == 0u);
    // A late answer, and an answer to an id never used, are ignored.
    c.send(R"(431["too late"])");
    c.send(R"(4399["unknown"])");
    c.send(R"(42["echo","fine"])");
    BOOST_TEST(c.read() == R"(42["echo","fine"])");

    // Answered within the timeout.
    auto in_time = ts.spawn(s.timeout(5s).emit_with_ack("fast"));
    BOOST_TEST(c.read() == R"(422["fast"])");
    c.send(R"(432["quick"])");
    r = get(in_time);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.args.get<std::string>(0) == "quick");

    // On a disconnected socket: at once.
    c.send("41");
    BOOST_TEST(ts.log().wait("disconnect / client namespace disconnect"));
    auto gone = ts.spawn(s.emit_with_ack("nobody"));
    BOOST_TEST((get(gone).error == sio::error::not_connected));
    BOOST_TEST(!s.emit("nobody"));
}

BOOST_AUTO_TEST_CASE(pending_acks_fail_when_the_client_disconnects) {
    for (const bool close_transport : {false, true}) {
        BOOST_TEST_CONTEXT("close transport " << close_transport) {
            sio_server ts;
            install_echo(ts.io().of("/"), ts.log());
            ts.start();
            auto c = ts.client();
            const auto s = ts.log().find_socket(c.connect());
            auto no_timeout = ts.spawn(s.emit_with_ack("a"));
            auto with_timeout = ts.spawn(s.timeout(10s).emit_with_ack("b"));
            BOOST_TEST(c.read() == R"(420["a"])");
            BOOST_TEST(c.read() == R"(421["b"])");
            if (close_transport)
                c.close();
            else
                c.send("41");
            BOOST_TEST((get(no_timeout).error == sio::error::not_connected));
            BOOST_TEST((get(with_timeout).error == sio::error::not_connected));
        }
    }
}

BOOST_AUTO_TEST_CASE(on_any_prepend_any_and_off_any) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) {
        s.on_any([&log](sio::socket, const sio::event& ev) { log.add("any1 " + ev.name); });
        s.prepend_any([&log](sio::socket s, const sio::event& ev) {
            log.add("any0 " + ev.name);
            if (ev.name == "stop")
                s.off_any(); // from inside a listener: the current event still reaches the others
        });
        s.on("x", [&log](sio::socket) { log.add("handler x"); });
        s.on("mark", [&log](sio::socket) { log.add("mark"); });
    });
    ts.start();

    auto c = ts.client();
    c.connect();
    c.send(R"(42["x",1])");
    c.send(R"(42["no handler"])");
    c.send(R"(42["stop"])");
    c.send(R"(42["x"])");
    c.send(R"(42["mark"])");
    BOOST_TEST(log.wait("mark"));
    const std::vector<std::string> expected{"any0 x",          "any1 x",          "handler x",
                                            "any0 no handler", "any1 no handler", "any0 stop",
                                            "any1 stop",       "handler x",       "mark"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(on_any_outgoing_sees_every_outgoing_event) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) {
        log.keep(s);
        s.on_any_outgoing([&log](sio::socket, std::string_view ev, const sio::arguments& args) {
            log.add("out " + std::string(ev) + " " + json::serialize(args.values));
        });
        s.prepend_any_outgoing([&log](sio::socket, std::string_view ev, const sio::arguments&) {
            log.add("first " + std::string(ev));
        });
        s.on("ack-me", [](sio::socket, sio::ack ack) { ack("acks are not events"); });
        s.on("mark", [&log](sio::socket) { log.add("mark"); });
    });
    ts.start();

    auto c = ts.client();
    const auto s = ts.log().find_socket(c.connect());
    s.emit("hello", 1);
    BOOST_TEST(c.read() == R"(42["hello",1])");
    auto pending = ts.spawn(s.timeout(5s).emit_with_ack("question", "?"));
    BOOST_TEST(c.read() == R"(420["question","?"])");
    c.send(R"(430[])");
    get(pending);
    c.send(R"(421["ack-me"])");
    BOOST_TEST(c.read() == R"(431["acks are not events"])");
    ts.io().emit("broadcast", 2);
    BOOST_TEST(c.read() == R"(42["broadcast",2])");
    c.send(R"(42["mark"])");
    BOOST_TEST(log.wait("mark"));
    const std::vector<std::string> expected{
        "first hello",       "out hello [1]", "first question", R"(out question ["?"])", "first broadcast",
        "out broadcast [2]", "mark"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());

    s.off_any_outgoing();
    s.emit("quiet");
    BOOST_TEST(c.read() == R"(42["quiet"])");
    c.send(R"(42["mark"])");
    BOOST_TEST(log.wait("mark", 2));
    BOOST_TEST(log.starting_with("out ").size() == 3u);
}

// Per-packet middlewares (`socket.use`): a refused event goes to the error handler and is not dispatched;
// a middleware may rewrite the event. Like the reference, `on_any` listeners run before the middlewares.
BOOST_AUTO_TEST_CASE(socket_middleware_rejects_or_rewrites_events) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    ts.io().on_connection([&log](sio::socket s) {
        s.on_any([&log](sio::socket, const sio::event& ev) { log.add("any " + ev.name); });
        s.use([](sio::socket, sio::event& ev) -> std::optional<sio::middleware_error> {
            if (ev.name == "forbidden")
                return sio::middleware_error{"not allowed", json::object{{"event", ev.name}}};
            if (ev.name == "rewrite")
                ev.args.values[0] = "rewritten";
            return std::nullopt;
        });
        s.on_error([&log](sio::socket, const sio::middleware_error& e) {
            log.add("error " + e.message + " " + json::serialize(e.data));
        });
        s.on("forbidden", [&log](sio::socket) { log.add("handler forbidden"); });
        s.on("rewrite", [&log](sio::socket, std::string v) { log.add("handler rewrite " + v); });
    });
    ts.start();

    auto c = ts.client();
    c.connect();
    c.send(R"(425["forbidden"])"); // with an ack id: still nothing is sent back
    c.send(R"(42["rewrite","original"])");
    c.send(R"(42["mark"])");
    BOOST_TEST(log.wait("mark /"));
    const std::vector<std::string> expected{"any forbidden", R"(error not allowed {"event":"forbidden"})",
                                            "any rewrite",   "handler rewrite rewritten",
                                            "any mark",      "mark /"};
    auto events = log.events();
    events.erase(events.begin()); // "connect /"
    BOOST_TEST(events == expected, boost::test_tools::per_element());
    c.send(R"(42["echo","next"])");
    BOOST_TEST(c.read() == R"(42["echo","next"])");
}

BOOST_AUTO_TEST_CASE(binary_arguments_both_ways) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) {
        log.keep(s);
        s.on("upload", [&log](sio::socket s, file f, sio::ack ack) {
            log.add("upload " + f.name + " " + std::to_string(f.data.size()));
            ack(f.data, f.name); // a binary in an acknowledgement
            s.emit("stored", file{f.name + ".copy", f.data});
        });
        s.on("raw", [](sio::socket s, sio::event& ev) { s.emit_arguments("raw", ev.args); });
    });
    auto custom = ts.io().of("/custom");
    custom.on_connection([&log](sio::socket s) { log.keep(s); });
    ts.start();

    const std::string bytes("\x00\x01\xff payload", 11);
    auto c = ts.client();
    const auto s = ts.log().find_socket(c.connect());

    // Client → server, a binary nested in a user struct; the ack and the reply carry it back.
    c.send(R"(451-3["upload",{"name":"f.bin","data":)" + ph(0) + "}]");
    c.send_binary(bytes);
    BOOST_TEST(c.read() == R"(461-3[)" + ph(0) + R"(,"f.bin"])");
    BOOST_TEST(c.read_binary() == bytes);
    BOOST_TEST(c.read() == R"(451-["stored",{"name":"f.bin.copy","data":)" + ph(0) + "}]");
    BOOST_TEST(c.read_binary() == bytes);
    BOOST_TEST(log.count("upload f.bin 11") == 1u);

    // Several attachments, in order, anywhere in the arguments; an empty one too.
    c.send(R"(453-["raw",)" + ph(2) + ",[" + ph(0) + R"(],{"k":)" + ph(1) + "}]");
    c.send_binary("zero");
    c.send_binary("");
    c.send_binary("two");
    BOOST_TEST(c.read() == R"(453-["raw",)" + ph(2) + ",[" + ph(0) + R"(],{"k":)" + ph(1) + "}]");
    BOOST_TEST(c.read_binary() == "zero");
    BOOST_TEST(c.read_binary() == "");
    BOOST_TEST(c.read_binary() == "two");

    // Server → client from outside the handlers, on another namespace, and as a broadcast.
    const auto cs = ts.log().find_socket(c.connect("/custom"));
    cs.emit("two", sio::binary("a"), std::vector<sio::binary>{sio::binary("b")});
    BOOST_TEST(c.read() == R"(452-/custom,["two",)" + ph(0) + ",[" + ph(1) + "]]");
    BOOST_TEST(c.read_binary() == "a");
    BOOST_TEST(c.read_binary() == "b");
    ts.io().emit("everyone", file{"x", sio::binary("bytes")});
    BOOST_TEST(c.read() == R"(451-["everyone",{"name":"x","data":)" + ph(0) + "}]");
    BOOST_TEST(c.read_binary() == "bytes");

    // Server asks, the client acknowledges with a binary.
    auto asked = ts.spawn(s.emit_with_ack("give"));
    BOOST_TEST(c.read() == R"(420["give"])");
    c.send(R"(461-0[)" + ph(0) + ",1]");
    c.send_binary(bytes);
    auto r = get(asked);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.args.get<sio::binary>(0).bytes == bytes);
    BOOST_TEST(r.args.get<int>(1) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Rooms and broadcasting
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(rooms)

/// Reads packets until `42["end"]` (excluded).
std::vector<std::string> read_until_end(sio_client& c) {
    std::vector<std::string> out;
    for (std::string p = c.read(); p != R"(42["end"])"; p = c.read())
        out.push_back(p);
    return out;
}

BOOST_AUTO_TEST_CASE(join_leave_and_rooms) {
    sio_server ts;
    install_echo(ts.io().of("/"), ts.log());
    ts.io().on_connection([](sio::socket s) {
        s.on("join", [](sio::socket s, std::string room, sio::ack ack) {
            s.join(room);
            ack(sorted(s.rooms()));
        });
    });
    ts.start();

    auto c = ts.client();
    const std::string id = c.connect();
    const auto s = ts.log().find_socket(id);
    BOOST_TEST(s.rooms() == std::vector<std::string>{id}); // always in its own room
    s.join("a");
    s.join(std::vector<std::string>{"b", "c", "a"});
    BOOST_TEST(sorted(s.rooms()) == sorted({"a", "b", "c", id}), boost::test_tools::per_element());
    s.leave("b");
    s.leave("never joined");
    BOOST_TEST(sorted(s.rooms()) == sorted({"a", "c", id}), boost::test_tools::per_element());
    c.send(R"(421["join","d"])");
    BOOST_TEST(c.read() == "431[" + json::serialize(json::value_from(sorted({"a", "c", "d", id}))) + "]");

    // Disconnected: no rooms, and joining does nothing.
    c.send("41");
    BOOST_TEST(ts.log().wait("disconnect / client namespace disconnect"));
    BOOST_TEST(s.rooms().empty());
    s.join("late");
    BOOST_TEST(s.rooms().empty());
    BOOST_TEST(ts.io().to("late").sockets().empty());
}

BOOST_AUTO_TEST_CASE(broadcast_to_rooms_reaches_each_socket_once) {
    sio_server ts;
    install_echo(ts.io().of("/"), ts.log());
    ts.start();

    auto a = ts.client(), b = ts.client(), c = ts.client();
    const auto sa = ts.log().find_socket(a.connect());
    const auto sb = ts.log().find_socket(b.connect());
    const auto sc = ts.log().find_socket(c.connect());
    sa.join(std::vector<std::string>{"r1", "r2"});
    sb.join("r1");
    sc.join("s");

    ts.io().to("r1").emit("m1");
    ts.io().to("r1").to("r2").emit("m2"); // a is in both: once
    ts.io().of("/").to(std::vector<std::string>{"r1", "r2"}).except("r2").emit("m3");
    ts.io().except("r1").emit("m4");
    ts.io().in("nobody").emit("m5");
    ts.io().to(sc.id()).emit("m6");
    ts.io().of("/").to("s").except(sc.id()).emit("m7");
    ts.io().emit("end");

    BOOST_TEST(read_until_end(a) == (std::vector<std::string>{R"(42["m1"])", R"(42["m2"])"}),
               boost::test_tools::per_element());
    BOOST_TEST(read_until_end(b) == (std::vector<std::string>{R"(42["m1"])", R"(42["m2"])", R"(42["m3"])"}),
               boost::test_tools::per_element());
    BOOST_TEST(read_until_end(c) == (std::vector<std::string>{R"(42["m4"])", R"(42["m6"])"}),
               boost::test_tools::per_element());
    BOOST_TEST(ts.io().to("r1").sockets().size() == 2u);
    BOOST_TEST(ts.io().to("r1").to("r2").except("r2").sockets().size() == 1u);
    BOOST_TEST(ts.io().of("/").sockets().size() == 3u);
}

BOOST_AUTO_TEST_CASE(socket_broadcast_and_to_exclude_the_sender) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    ts.io().on_connection([&log](sio::socket s) {
        s.on("shout", [&log](sio::socket s, std::string text) {
            s.broadcast().emit("shout", text);
            log.add("shouted");
        });
    });
    ts.start();

    auto a = ts.client(), b = ts.client(), c = ts.client();
    const auto sa = ts.log().find_socket(a.connect());
    const auto sb = ts.log().find_socket(b.connect());
    const auto sc = ts.log().find_socket(c.connect());
    for (const auto& s : {sa, sb, sc})
        s.join("r");

    sa.broadcast().emit("b1");
    sa.to("r").emit("b2"); // a is in r, but it is the sender
    sa.except(sb.id()).emit("b3");
    a.send(R"(42["shout","hi"])");
    BOOST_TEST(log.wait("shouted"));
    ts.io().emit("end");

    BOOST_TEST(read_until_end(a).empty());
    BOOST_TEST(read_until_end(b) ==
                   (std::vector<std::string>{R"(42["b1"])", R"(42["b2"])", R"(42["shout","hi"])"}),
               boost::test_tools::per_element());
    BOOST_TEST(read_until_end(c) == (std::vector<std::string>{R"(42["b1"])", R"(42["b2"])", R"(42["b3"])",
                                                              R"(42["shout","hi"])"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(broadcast_with_acks_aggregates_the_answers) {
    const auto clock = std::make_shared<manual_clock>();
    sio_server ts;
    on_clock(clock)(ts.io().engine());
    install_echo(ts.io().of("/"), ts.log());
    ts.start();

    std::vector<sio_client> clients;
    for (int i = 0; i < 3; ++i)
        clients.push_back(ts.client());
    std::vector<sio::socket> sockets;
    for (auto& c : clients)
        sockets.push_back(ts.log().find_socket(c.connect()));
    sockets[0].join("r");

    // Everybody answers.
    auto all = ts.spawn(ts.io().timeout(5s).emit_with_ack("q", 1));
    for (std::size_t i = 0; i < clients.size(); ++i) {
        BOOST_TEST(clients[i].read() == R"(420["q",1])");
        clients[i].send("430[" + std::to_string(i) + "]");
    }
    auto r = get(all);
    BOOST_TEST(!r.error);
    std::set<int> answers;
    for (const auto& a : r.responses)
        answers.insert(a.get<int>(0));
    BOOST_TEST((answers == std::set<int>{0, 1, 2}));

    // One client stays silent: ack_timeout, with the answers received. Each answer is followed by an
    // echo: once it comes back, the answer was handled (in order, on the socket's strand).
    auto partial = ts.spawn(ts.io().timeout(300ms).emit_with_ack("q2"));
    for (std::size_t i = 0; i < clients.size(); ++i) {
        BOOST_TEST(clients[i].read() == R"(421["q2"])");
        if (i != 1) {
            clients[i].send("431[" + std::to_string(i) + "]");
            clients[i].send(R"(42["echo","answered"])");
            BOOST_TEST(clients[i].read() == R"(42["echo","answered"])");
        }
    }
    clock->advance(300ms);
    r = get(partial);
    BOOST_TEST((r.error == sio::error::ack_timeout));
    answers.clear();
    for (const auto& a : r.responses)
        answers.insert(a.get<int>(0));
    BOOST_TEST((answers == std::set<int>{0, 2}));

    // To a room; to nobody (at once); without a timeout (refused: it could wait forever).
    auto room = ts.spawn(ts.io().to("r").timeout(5s).emit_with_ack("q3"));
    BOOST_TEST(clients[0].read() == R"(422["q3"])");
    clients[0].send(R"(432["only me"])");
    r = get(room);
    BOOST_TEST(!r.error);
    BOOST_TEST_REQUIRE(r.responses.size() == 1u);
    BOOST_TEST(r.responses[0].get<std::string>(0) == "only me");
    auto nobody = ts.spawn(ts.io().to("nobody").timeout(5s).emit_with_ack("q4"));
    r = get(nobody, 1s);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.responses.empty());
    auto untimed = ts.spawn(ts.io().local().emit_with_ack("q5"));
    BOOST_TEST((get(untimed).error == sio::error::invalid_argument));
    ts.io().emit("end");
    for (auto& c : clients)
        BOOST_TEST(read_until_end(c).empty());
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Disconnection
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(disconnection)

BOOST_AUTO_TEST_CASE(client_namespace_disconnect) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    install_echo(ts.io().of("/custom"), log);
    ts.start();

    auto c = ts.client();
    c.connect();
    const auto custom = ts.log().find_socket(c.connect("/custom"));
    c.send("41/custom,");
    BOOST_TEST(log.wait("disconnect /custom client namespace disconnect"));
    BOOST_TEST(!custom.connected());
    c.send(R"(42["echo","still"])");
    BOOST_TEST(c.read() == R"(42["echo","still"])");
    // Leaving every namespace keeps the connection; joining again works.
    c.send("41");
    BOOST_TEST(log.wait("disconnect / client namespace disconnect"));
    c.connect("/custom");
    c.send(R"(42/custom,["echo","back"])");
    BOOST_TEST(c.read() == R"(42/custom,["echo","back"])");
}

BOOST_AUTO_TEST_CASE(server_namespace_disconnect_keeps_the_connection) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    install_echo(ts.io().of("/custom"), log);
    ts.start();

    auto c = ts.client();
    const auto main = ts.log().find_socket(c.connect());
    const auto custom = ts.log().find_socket(c.connect("/custom"));
    custom.disconnect();
    BOOST_TEST(c.read() == "41/custom,");
    BOOST_TEST(log.wait("disconnect /custom server namespace disconnect"));
    c.send(R"(42["echo","still"])");
    BOOST_TEST(c.read() == R"(42["echo","still"])");
    custom.disconnect(); // already disconnected: nothing
    main.disconnect();
    BOOST_TEST(c.read() == "41");
    BOOST_TEST(log.wait("disconnect / server namespace disconnect"));
    c.connect();
    c.send(R"(42["echo","again"])");
    BOOST_TEST(c.read() == R"(42["echo","again"])");
    BOOST_TEST(log.count("disconnect /custom server namespace disconnect") == 1u);
}

// `disconnect(true)`: like the reference's `client._disconnect()`, every socket of the connection gets a
// DISCONNECT packet and "server namespace disconnect", then the connection closes.
BOOST_AUTO_TEST_CASE(disconnect_with_close_ends_the_connection) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    install_echo(ts.io().of("/custom"), log);
    ts.start();

    auto c = ts.client();
    const auto main = ts.log().find_socket(c.connect());
    c.connect("/custom");
    auto other = ts.client();
    other.connect();
    main.disconnect(true);
    const std::set<std::string> got{c.read(), c.read()};
    BOOST_TEST((got == std::set<std::string>{"41", "41/custom,"}));
    BOOST_TEST(c.closed());
    BOOST_TEST(log.wait("disconnect / server namespace disconnect"));
    BOOST_TEST(log.wait("disconnect /custom server namespace disconnect"));
    other.send(R"(42["echo","unaffected"])");
    BOOST_TEST(other.read() == R"(42["echo","unaffected"])");
}

// A handler, an `on_any` listener or a middleware may disconnect its own socket, which clears the handler
// tables while it runs; each goes on using its captures afterwards (checked by the ASan build).
BOOST_AUTO_TEST_CASE(handlers_may_disconnect_their_own_socket) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    ts.io().on_connection([&log](sio::socket s) {
        s.on("bye", [&log](sio::socket s, bool close) {
            s.disconnect(close);
            log.add("after bye " + std::to_string(close));
        });
        s.on_any([&log](sio::socket s, const sio::event& ev) {
            if (ev.name == "bye-from-any") {
                s.disconnect();
                log.add("after any");
            }
        });
        s.use([&log](sio::socket s, sio::event& ev) -> std::optional<sio::middleware_error> {
            if (ev.name != "bye-from-middleware")
                return std::nullopt;
            s.disconnect();
            log.add("after middleware");
            return sio::middleware_error{"gone", nullptr};
        });
        s.on("bye-from-any", [&log](sio::socket) { log.add("handler of a disconnected socket"); });
    });
    ts.start();

    auto c = ts.client();
    c.connect();
    c.send(R"(42["bye",false])");
    BOOST_TEST(c.read() == "41");
    BOOST_TEST(log.wait("after bye 0"));
    c.connect();
    c.send(R"(42["bye-from-any"])");
    BOOST_TEST(c.read() == "41");
    BOOST_TEST(log.wait("after any"));
    c.connect();
    c.send(R"(42["bye-from-middleware"])");
    BOOST_TEST(c.read() == "41");
    BOOST_TEST(log.wait("after middleware"));
    c.connect();
    c.send(R"(42["bye",true])");
    BOOST_TEST(c.read() == "41");
    BOOST_TEST(c.closed());
    BOOST_TEST(log.wait("after bye 1"));
    BOOST_TEST(log.count("disconnect / server namespace disconnect") == 4u);
    BOOST_TEST(log.count("handler of a disconnected socket") == 0u);
}

BOOST_AUTO_TEST_CASE(engine_close_reasons) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    install_echo(ts.io().of("/custom"), log);
    ts.start();

    {
        auto c = ts.client(); // the TCP connection ends
        c.connect();
        c.connect("/custom");
        c.close();
        BOOST_TEST(log.wait("disconnect / transport close"));
        BOOST_TEST(log.wait("disconnect /custom transport close"));
    }
    {
        auto c = ts.client(); // an Engine.IO close packet
        c.connect();
        c.send("1");
        BOOST_TEST(c.closed());
        BOOST_TEST(log.wait("disconnect / transport close", 2));
    }
    {
        auto c = ts.client(); // a WebSocket close frame
        c.connect();
        c.send_close();
        BOOST_TEST(c.closed()); // the server answers, then waits for the TCP connection to end (Beast)
        BOOST_TEST(log.wait("disconnect / transport close", 3));
    }
}

BOOST_AUTO_TEST_CASE(ping_timeout) {
    const auto clock = std::make_shared<manual_clock>();
    sio::server_options options;
    options.engine.ping_interval = 100ms;
    options.engine.ping_timeout = 100ms;
    sio_server ts(options);
    on_clock(clock)(ts.io().engine());
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    ts.start();

    auto silent = ts.client();
    silent.answer_pings(false);
    silent.connect();
    auto alive = ts.client();
    alive.connect();
    // The client that answers is kept over several heartbeats; meanwhile the silent one times out. After
    // each pong, an echo: once it is back, the server handled the pong and the clock may move on.
    for (int i = 0; i < 4; ++i) {
        clock->advance(100ms);
        const auto m = alive.next(io_limit, true);
        BOOST_TEST_REQUIRE(m.has_value());
        BOOST_TEST(m->data == "2");
        alive.send(R"(42["echo","pong sent"])");
        BOOST_TEST(alive.read() == R"(42["echo","pong sent"])");
    }
    BOOST_TEST(log.wait("disconnect / ping timeout"));
    BOOST_TEST(silent.closed());
    alive.send(R"(42["echo","alive"])");
    BOOST_TEST(alive.read() == R"(42["echo","alive"])");
    BOOST_TEST(log.count("disconnect / ping timeout") == 1u);
}

BOOST_AUTO_TEST_CASE(disconnecting_handler_still_sees_the_rooms) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) {
        log.keep(s);
        s.join("room");
        s.on_disconnecting([&log](sio::socket s, sio::disconnect_reason r) {
            const auto rooms = s.rooms();
            log.add("disconnecting " + str(r) + " connected=" + std::to_string(s.connected()) +
                    " rooms=" + std::to_string(rooms.size()) +
                    " in room=" + std::to_string(std::count(rooms.begin(), rooms.end(), "room")));
        });
        s.on_disconnect([&log](sio::socket s, sio::disconnect_reason r) {
            log.add("disconnect " + str(r) + " connected=" + std::to_string(s.connected()) +
                    " rooms=" + std::to_string(s.rooms().size()));
        });
    });
    ts.start();

    auto c = ts.client();
    c.connect();
    c.send("41");
    BOOST_TEST(log.wait("disconnect client namespace disconnect connected=0 rooms=0"));
    const std::vector<std::string> expected{
        "disconnecting client namespace disconnect connected=1 rooms=2 in room=1",
        "disconnect client namespace disconnect connected=0 rooms=0"};
    BOOST_TEST(log.events() == expected, boost::test_tools::per_element());
    BOOST_TEST(ts.io().to("room").sockets().empty());
}

BOOST_AUTO_TEST_CASE(server_close_disconnects_every_socket) {
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);
    install_echo(ts.io().of("/custom"), log);
    ts.start();

    auto a = ts.client(), b = ts.client();
    a.connect();
    a.connect("/custom");
    b.connect();
    static_cast<void>(ts.io().close()); // starts at once, even when not awaited
    BOOST_TEST(log.wait("disconnect / server shutting down", 2));
    BOOST_TEST(log.wait("disconnect /custom server shutting down"));
    BOOST_TEST(a.closed());
    BOOST_TEST(b.closed());
    BOOST_TEST(log.starting_with("disconnect").size() == 3u);
    static_cast<void>(ts.io().close()); // idempotent
}

BOOST_AUTO_TEST_CASE(graceful_close_flushes_queued_packets_then_completes) {
    sio_server ts;
    auto& log = ts.log();
    ts.io().on_connection([&log](sio::socket s) {
        s.on_disconnect(
            [&log](sio::socket, sio::disconnect_reason r) { log.add(std::string(sio::to_string(r))); });
    });
    ts.start();
    auto a = ts.client(), b = ts.client();
    a.connect();
    b.connect();
    // Many packets queued right before the close: every one must reach each client before the transport
    // closes, and the awaitable completes only after both connections are gone.
    constexpr int count = 300;
    const std::string big(2000, 'x');
    for (int i = 0; i < count; ++i)
        ts.io().emit("n", i, big);
    auto closed = ts.spawn(close_and_report(ts.io(), std::chrono::seconds(5)));
    for (auto* c : {&a, &b}) {
        for (int i = 0; i < count; ++i)
            BOOST_TEST_REQUIRE(c->read() == "42[\"n\"," + std::to_string(i) + ",\"" + big + "\"]");
        BOOST_TEST(c->closed());
    }
    BOOST_TEST(log.wait("server shutting down", 2));
    BOOST_REQUIRE(closed.wait_for(5s) == std::future_status::ready);
    BOOST_TEST(closed.get() == 0u);
    // New connections are refused once closing.
    BOOST_CHECK_THROW(ts.client().connect(), std::exception);
}

BOOST_AUTO_TEST_CASE(graceful_close_gives_up_at_the_deadline) {
    sio_server ts;
    ts.start();
    auto a = ts.client();
    a.connect();
    a.answer_pings(false);
    // A client that reads nothing: the queue cannot drain (its socket buffer fills), the deadline ends it.
    const std::string big(64 * 1024, 'y');
    for (int i = 0; i < 240; ++i) // under the 16 MB queue cap, over what the socket buffers hold
        ts.io().emit("n", big);
    auto closed = ts.spawn(close_and_report(ts.io(), std::chrono::milliseconds(300)));
    BOOST_REQUIRE(closed.wait_for(5s) == std::future_status::ready);
    BOOST_TEST(closed.get() == 0u);
}

BOOST_AUTO_TEST_CASE(destroying_a_stopped_io_context_releases_everything) {
    // An application may stop its io_context with connections open and exit (`ioc.stop()` in a signal
    // handler): the handlers that would close the sessions never run, so the io_context's shutdown must
    // break the reference cycles itself (session hooks and their client, namespace and its sockets, a
    // handler capturing its own socket). The token is captured by such a handler: it must be released.
    recorder log;
    auto token = std::make_shared<int>(0);
    const std::weak_ptr<int> watch = token;
    {
        net::io_context sioc;
        auto io = std::make_unique<sio::server>(sioc.get_executor());
        io->on_connection([&log, token](sio::socket s) {
            s.on("x", [s, token](sio::socket) {});
            log.add("connect");
        });
        BOOST_REQUIRE(!io->listen("127.0.0.1", 0));
        std::thread runner([&sioc] { sioc.run(); });
        net::io_context cioc;
        sio_client a(cioc, io->local_port()), b(cioc, io->local_port());
        a.connect();
        b.connect();
        BOOST_TEST(log.wait("connect", 2));
        token.reset();
        sioc.stop();
        runner.join();
        io.reset();                   // the application's handle goes first, as when `main` returns
        BOOST_TEST(!watch.expired()); // still held by the sockets' handlers
    }
    BOOST_TEST(watch.expired());
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Hostile input at the Socket.IO layer (docs/hostile-input.md, "Socket.IO packets")
// =====================================================================================================
//
// The parser's verdict on each malformed packet is tested in test/protocol/parser_test.cpp; here each input
// is sent over a real connection, which must be closed (or kept, where the reference keeps it), and the
// server must go on serving new clients. Like the reference, a packet that does not parse closes the
// connection with "forced close" for its sockets, and a packet that is valid but not allowed in the
// connection's state (before CONNECT, to a namespace not joined, a second CONNECT, a CONNECT_ERROR) with
// "forced server close".

namespace {

struct hostile_fixture {
    static sio::server_options options() {
        sio::server_options o;
        o.attachment_timeout = 300ms;
        o.parser.max_attachment_bytes = 1000;
        return o;
    }

    hostile_fixture() {
        on_clock(clock)(ts.io().engine());
        install_echo(ts.io().of("/"), ts.log());
        install_echo(ts.io().of("/custom"), ts.log());
        ts.io().of("/slow").use([](sio::socket s) -> net::awaitable<std::optional<sio::middleware_error>> {
            net::steady_timer t(s.executor(), 300ms);
            co_await t.async_wait(net::use_awaitable);
            co_return std::nullopt;
        });
        ts.start();
    }

    enum class joined { none, main };

    /// A client (joined to "/" with `joined::main`) sends `stimulus`: the server must end the connection,
    /// the joined socket must leave with `reason`, and a new client must still be served.
    void expect_closed(std::string_view what, const std::function<void(sio_client&)>& stimulus,
                       joined join = joined::main,
                       sio::disconnect_reason reason = sio::disconnect_reason::forced_close) {
        BOOST_TEST_CONTEXT(what) {
            const std::string expected_disconnect = "disconnect / " + str(reason);
            const std::size_t before = ts.log().count(expected_disconnect);
            auto c = ts.client();
            if (join == joined::main)
                c.connect();
            stimulus(c);
            BOOST_TEST(c.closed());
            if (join == joined::main)
                BOOST_TEST(ts.log().wait(expected_disconnect, before + 1));
            check_still_serving(ts);
        }
    }
    /// Same, for one text packet.
    void expect_closed(std::string_view packet, joined join = joined::main,
                       sio::disconnect_reason reason = sio::disconnect_reason::forced_close) {
        const std::string p(packet);
        expect_closed(
            packet, [&p](sio_client& c) { c.send(p); }, join, reason);
    }

    /// The protocol timers (the attachment timeout) wait on this clock.
    std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
    sio_server ts{options()};
};

constexpr auto forced_server_close = sio::disconnect_reason::forced_server_close;

} // namespace

BOOST_FIXTURE_TEST_SUITE(hostile_input, hostile_fixture)

BOOST_AUTO_TEST_CASE(unknown_packet_type_closes) {
    for (const char* p : {"47", "4x", "4abc", "48[\"x\"]", "4"})
        expect_closed(p);
}

BOOST_AUTO_TEST_CASE(packet_before_connect_or_to_a_namespace_not_joined_closes) {
    for (const char* p : {R"(42["echo",1])", R"(420["echo"])", "430[]", "41", R"(42/custom,["echo"])"})
        expect_closed(p, joined::none);
    for (const char* p : {R"(42/custom,["echo"])", R"(42/custom,1["echo"])", "43/custom,0[]", "41/custom,",
                          R"(42/nowhere,["echo"])"})
        expect_closed(p, joined::main, forced_server_close);
    expect_closed(
        "binary event to a namespace not joined",
        [](sio_client& c) {
            c.send(R"(451-/custom,["echo",)" + ph(0) + "]");
            c.send_binary("x");
        },
        joined::main, forced_server_close);
}

BOOST_AUTO_TEST_CASE(second_connect_to_the_same_namespace_closes) {
    expect_closed("40", joined::main, forced_server_close);
    expect_closed(
        "second CONNECT to a custom namespace",
        [](sio_client& c) {
            c.connect("/custom");
            c.send("40/custom,");
        },
        joined::main, forced_server_close);
    // The first CONNECT is still in its (slow) middleware when the second one arrives.
    expect_closed(
        "second CONNECT while the first is pending",
        [](sio_client& c) {
            c.send("40/slow,");
            c.send("40/slow,");
        },
        joined::main, forced_server_close);
}

BOOST_AUTO_TEST_CASE(connect_payload_not_an_object_closes) {
    for (const char* p :
         {R"(40"s")", "40[]", "40null", "40true", "40-1", R"(40/custom,"s")", "40/custom,[1]"})
        expect_closed(p, joined::none);
}

BOOST_AUTO_TEST_CASE(connect_error_from_the_client_closes) {
    expect_closed(R"(44{"message":"x"})", joined::none);
    expect_closed(R"(44{"message":"x"})", joined::main, forced_server_close);
    expect_closed(R"(44/custom,{"message":"x"})", joined::main, forced_server_close);
}

BOOST_AUTO_TEST_CASE(bad_event_payload_or_reserved_name_closes) {
    for (const char* p :
         {"42{}", "42[]", "42[null]", "42[true]", R"(42[{"toString":"foo"}])", R"(42[["x"]])",
          R"(42["connect"])", R"(42["connect_error"])", R"(42["disconnect"])", R"(42["disconnecting"])",
          R"(42["newListener"])", R"(42["removeListener"])", R"(42/custom,["connect"])"})
        expect_closed(p);
}

// Names that are special in JavaScript are plain event names here.
BOOST_AUTO_TEST_CASE(prototype_names_are_ordinary_events) {
    auto& log = ts.log();
    ts.io().of("/proto").on_connection([&log](sio::socket s) {
        for (const char* name : {"error", "__proto__", "toString", "constructor", "hasOwnProperty"})
            s.on(name, [&log, name = std::string(name)](sio::socket) { log.add("got " + name); });
        s.on("mark", [&log](sio::socket) { log.add("proto mark"); });
    });
    auto c = ts.client();
    c.connect("/proto");
    for (const char* name : {"error", "__proto__", "toString", "constructor", "hasOwnProperty"})
        c.send(std::string(R"(42/proto,[")") + name + R"(",{"__proto__":{"x":1}}])");
    c.send(R"(42/proto,["mark"])");
    BOOST_TEST(log.wait("proto mark"));
    const std::vector<std::string> expected{"got error", "got __proto__", "got toString", "got constructor",
                                            "got hasOwnProperty"};
    BOOST_TEST(log.starting_with("got ") == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(event_without_payload_bad_ack_payload_or_id_closes) {
    expect_closed("42");  // stricter than the reference
    expect_closed("43");  // an ack without payload
    expect_closed("431"); // an ack without payload
    expect_closed("431{}");
    expect_closed(R"(431"x")");
    expect_closed(R"(42abc["x"])"); // a non-numeric ack id
    expect_closed("event without payload on a custom namespace", [](sio_client& c) {
        c.connect("/custom");
        c.send("42/custom,");
    });
}

BOOST_AUTO_TEST_CASE(ack_id_over_2_pow_53_minus_1_closes) {
    expect_closed(R"(422999999999999999999999["x"])");
    expect_closed(R"(429007199254740992["x"])");
    expect_closed(R"(43-1["x"])");
    // The largest id allowed (2^53 - 1) is answered as such.
    auto c = ts.client();
    c.connect();
    c.send(R"(429007199254740991["echo","big id"])"); // echo ignores the ack id
    BOOST_TEST(c.read() == R"(42["echo","big id"])");
}

BOOST_AUTO_TEST_CASE(malformed_attachment_count_or_placeholder_closes) {
    for (const char* p :
         {R"(45-["x"])", R"(450-["x"])", R"(455a-["x"])", R"(451.23-["x"])", R"(45["x"])", "46",
          R"(4511-["x"])", R"(45 1-["x"])", R"(451e0-["x"])", R"(450x1-["x"])",
          R"(451-["x",{"_placeholder":true,"num":1}])", R"(451-["x",{"_placeholder":true,"num":-1}])",
          R"(451-["x",{"_placeholder":true,"num":"splice"}])"})
        expect_closed(p);
}

BOOST_AUTO_TEST_CASE(text_while_attachments_pending_or_unexpected_binary_closes) {
    expect_closed("text while an attachment is pending", [](sio_client& c) {
        c.send(R"(451-["echo",)" + ph(0) + "]");
        c.send(R"(42["echo",1])");
    });
    expect_closed("binary frame with no attachment pending",
                  [](sio_client& c) { c.send_binary("surprise"); });
    expect_closed("one attachment too many", [](sio_client& c) {
        c.send(R"(451-["echo",)" + ph(0) + "]");
        c.send_binary("expected");
        c.send_binary("one too many");
    });
    expect_closed(
        "binary frame before any CONNECT", [](sio_client& c) { c.send_binary("x"); }, joined::none);
}

BOOST_AUTO_TEST_CASE(binary_packet_before_connect_or_never_completed_closes) {
    // Before any CONNECT: at once, without waiting for the attachment.
    expect_closed(
        "binary header before CONNECT", [](sio_client& c) { c.send(R"(451-["echo",)" + ph(0) + "]"); },
        joined::none);
    // After CONNECT: the attachments must arrive within attachment_timeout.
    expect_closed("attachments that never arrive", [this](sio_client& c) {
        const auto armed = clock->armed();
        c.send(R"(452-["echo",)" + ph(0) + "," + ph(1) + "]");
        c.send_binary("only the first");
        BOOST_TEST_REQUIRE(clock->wait_armed(armed + 1, 5s)); // the header started the timer
        clock->advance(300ms);
    });
}

BOOST_AUTO_TEST_CASE(attachment_bytes_are_capped) {
    expect_closed("one attachment over the cap", [](sio_client& c) {
        c.send(R"(451-["echo",)" + ph(0) + "]");
        c.send_binary(std::string(1001, 'a'));
    });
    expect_closed("attachments over the cap together", [](sio_client& c) {
        c.send(R"(452-["echo",)" + ph(0) + "," + ph(1) + "]");
        c.send_binary(std::string(600, 'a'));
        c.send_binary(std::string(600, 'b'));
    });
    // Exactly at the cap: delivered.
    auto c = ts.client();
    c.connect();
    c.send(R"(452-["echo",)" + ph(0) + "," + ph(1) + "]");
    c.send_binary(std::string(400, 'a'));
    c.send_binary(std::string(600, 'b'));
    BOOST_TEST(c.read() == R"(452-["echo",)" + ph(0) + "," + ph(1) + "]");
    BOOST_TEST(c.read_binary() == std::string(400, 'a'));
    BOOST_TEST(c.read_binary() == std::string(600, 'b'));
}

BOOST_AUTO_TEST_CASE(json_deeper_than_the_cap_closes) {
    const auto nested = [](int depth) {
        return R"(42["echo",)" + std::string(depth, '[') + std::string(depth, ']') + "]";
    };
    expect_closed(nested(200));
    expect_closed(nested(100000));
    expect_closed("deep binary packet", [](sio_client& c) {
        c.send(R"(451-["echo",)" + std::string(200, '[') + ph(0) + std::string(200, ']') + "]");
        c.send_binary("x");
    });
    // Within the cap (128 levels, the outer array included): delivered.
    auto c = ts.client();
    c.connect();
    c.send(nested(100));
    BOOST_TEST(c.read() == nested(100));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_or_lone_surrogate_closes) {
    // The WebSocket layer refuses it first (1007): a transport error.
    expect_closed(
        "invalid UTF-8 in a text frame", [](sio_client& c) { c.send("42[\"echo\",\"\xff\xfe\"]"); },
        joined::main, sio::disconnect_reason::transport_error);
    expect_closed(R"(42["echo","\ud800"])");
    expect_closed(R"(42["echo","\udc00x"])");
    // A valid surrogate pair is fine.
    auto c = ts.client();
    c.connect();
    c.send(R"(42["echo","\ud83d\ude00"])");
    BOOST_TEST(c.read() == "42[\"echo\",\"\xf0\x9f\x98\x80\"]");
}

// There is no connection state recovery; a forged pid/offset is an ordinary auth field and restores
// nothing.
BOOST_AUTO_TEST_CASE(forged_recovery_fields_restore_nothing) {
    auto victim = ts.client();
    const std::string victim_id = victim.connect();
    ts.log().find_socket(victim_id).join("secret");
    auto c = ts.client();
    const std::string id = c.connect("/", R"({"pid":")" + victim_id + R"(","offset":"1-1"})");
    BOOST_TEST(id != victim_id);
    const auto s = ts.log().find_socket(id);
    BOOST_TEST(s.rooms() == std::vector<std::string>{id});
    BOOST_TEST(json::value_to<std::string>(s.handshake().auth.at("pid")) == victim_id);
    victim.send(R"(42["echo","untouched"])");
    BOOST_TEST(victim.read() == R"(42["echo","untouched"])");
    BOOST_TEST(ts.io().to("secret").sockets().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Thread safety (also run under ThreadSanitizer)
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(thread_safety)

// A server on 4 threads; 20 clients, each with a thread of its own that calls emit, emit_with_ack, join,
// leave, rooms and broadcasts from outside the handlers, all at once, while other clients keep connecting
// to and disconnecting from "/churn" and the driving threads emit to, and disconnect, those churning
// sockets. Every deterministic message must arrive exactly once and in order.
BOOST_AUTO_TEST_CASE(public_api_from_many_threads) {
    constexpr int clients = 20, iterations = 40, broadcasts = 10, churners = 2;
    sio_server ts;
    auto& log = ts.log();
    install_echo(ts.io().of("/"), log);

    std::mutex churn_mutex;
    std::vector<sio::socket> churn; // the latest churning sockets
    std::atomic<int> outgoing{0};
    ts.io().of("/churn").on_connection([&](sio::socket s) {
        s.on_any_outgoing([&outgoing](sio::socket, std::string_view, const sio::arguments&) { ++outgoing; });
        s.on("ping", [](sio::socket, sio::ack ack) { ack("pong"); });
        s.join("churners");
        std::lock_guard lock(churn_mutex);
        churn.push_back(s);
        if (churn.size() > 8)
            churn.erase(churn.begin());
    });
    const auto pick_churner = [&](int i) {
        std::lock_guard lock(churn_mutex);
        return churn.empty() ? sio::socket() : churn[static_cast<std::size_t>(i) % churn.size()];
    };
    ts.start(4);

    std::mutex failures_mutex;
    std::vector<std::string> failures;
    const auto fail = [&](std::string what) {
        std::lock_guard lock(failures_mutex);
        failures.push_back(std::move(what));
    };

    std::atomic<bool> done{false};
    std::vector<std::thread> churn_threads;
    std::atomic<int> churn_connections{0};
    for (int k = 0; k < churners; ++k)
        churn_threads.emplace_back([&, k] {
            net::io_context ioc;
            for (int n = 0; !done; ++n) {
                try {
                    sio_client c(ioc, ts.port());
                    c.connect("/churn"); // the CONNECT answer must come before any broadcast
                    ++churn_connections;
                    if (n % 3 == 0)
                        c.send("41/churn,");
                    else if (n % 3 == 1)
                        c.send(R"(42/churn,1["ping"])");
                    c.close();
                } catch (const std::exception& e) {
                    fail("churner " + std::to_string(k) + ": " + e.what());
                    return;
                }
            }
        });

    std::barrier joined(clients), emitted(clients);
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t)
        threads.emplace_back([&, t] {
            int phase = 0;
            try {
                net::io_context ioc;
                sio_client c(ioc, ts.port());
                const auto s = log.find_socket(c.connect());
                s.join(std::vector<std::string>{"all", "t" + std::to_string(t)});
                phase = 1;
                joined.arrive_and_wait();

                const std::string next_room = "t" + std::to_string((t + 1) % clients);
                auto asked = ts.spawn(s.timeout(20s).emit_with_ack("ask", t));
                for (int i = 0; i < iterations; ++i) {
                    s.emit("direct", i);
                    if (i < broadcasts) {
                        ts.io().to("all").emit("all", t, i);
                        ts.io().to(next_room).except("nobody").emit("next", t, i);
                    }
                    s.join("tmp");
                    ts.io().to("tmp").emit("tmp");
                    if (s.rooms().size() < 3)
                        fail("rooms of " + std::to_string(t));
                    s.leave("tmp");
                    ts.io().of("/churn").to("churners").emit("churn-all", i);
                    if (auto victim = pick_churner(t + i)) { // may be disconnecting right now
                        victim.emit("poke", i);
                        victim.join("poked");
                        victim.rooms();
                        victim.leave("poked");
                        if (i % 8 == 0)
                            victim.disconnect(i % 16 == 0);
                    }
                }
                phase = 2;
                emitted.arrive_and_wait();
                s.emit("end");

                std::vector<int> direct, next;
                std::map<int, std::vector<int>> all;
                for (;;) {
                    const std::string p = c.read(10s);
                    if (p == R"(42["end"])")
                        break;
                    const auto at = p.find('[');
                    const auto v = json::parse(p.substr(at)).as_array();
                    const auto& ev = v.at(0).as_string();
                    if (ev == "direct") {
                        direct.push_back(json::value_to<int>(v.at(1)));
                    } else if (ev == "all") {
                        all[json::value_to<int>(v.at(1))].push_back(json::value_to<int>(v.at(2)));
                    } else if (ev == "next") {
                        if (json::value_to<int>(v.at(1)) != (t + clients - 1) % clients)
                            fail("client " + std::to_string(t) + " got " + p);
                        next.push_back(json::value_to<int>(v.at(2)));
                    } else if (ev == "ask") {
                        c.send("43" + p.substr(2, at - 2) + "[" + std::to_string(t) + "]");
                    } else if (ev != "tmp") {
                        fail("client " + std::to_string(t) + " got " + p);
                    }
                }
                std::vector<int> expected_direct(iterations), expected_broadcasts(broadcasts);
                std::iota(expected_direct.begin(), expected_direct.end(), 0);
                std::iota(expected_broadcasts.begin(), expected_broadcasts.end(), 0);
                if (direct != expected_direct)
                    fail("client " + std::to_string(t) + ": direct messages lost or out of order");
                if (next != expected_broadcasts)
                    fail("client " + std::to_string(t) + ": room messages lost or out of order");
                if (all.size() != static_cast<std::size_t>(clients))
                    fail("client " + std::to_string(t) + ": broadcasts from " + std::to_string(all.size()) +
                         " senders");
                for (const auto& [sender, seq] : all)
                    if (seq != expected_broadcasts)
                        fail("client " + std::to_string(t) + ": broadcasts of " + std::to_string(sender) +
                             " lost or out of order");
                const auto r = get(asked, 10s);
                if (r.error || r.args.get<int>(0) != t)
                    fail("client " + std::to_string(t) + ": bad ack");
                c.close();
            } catch (const std::exception& e) {
                fail("client " + std::to_string(t) + ": " + e.what());
                if (phase < 1)
                    joined.arrive_and_drop();
                if (phase < 2)
                    emitted.arrive_and_drop();
            }
        });
    for (auto& th : threads)
        th.join();
    done = true;
    for (auto& th : churn_threads)
        th.join();

    BOOST_TEST(failures.empty(), "first failure: " << (failures.empty() ? "" : failures.front()));
    BOOST_TEST(failures.size() == 0u);
    BOOST_TEST(churn_connections.load() > 0);
    BOOST_TEST_MESSAGE("churning connections: " << churn_connections.load()
                                                << ", outgoing events seen on them: " << outgoing.load());
    check_still_serving(ts);
}

BOOST_AUTO_TEST_SUITE_END()

// --- public API contracts ------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(api_contracts)

/// Captures the records of scope `socket.io:socket` (debug included) while alive.
class socket_log_capture {
public:
    socket_log_capture() {
        sio::enable_log_scopes("socket.io:socket");
        sio::set_log_sink([this](const sio::log_record& r) {
            if (r.scope != sio::log_scope::socket)
                return;
            std::lock_guard lock(mutex_);
            records_.emplace_back(r.level, std::string(r.message));
        });
    }
    ~socket_log_capture() {
        sio::set_log_sink({});
        sio::enable_log_scopes("");
    }
    socket_log_capture(const socket_log_capture&) = delete;
    socket_log_capture& operator=(const socket_log_capture&) = delete;

    /// How many records of `level` contain `text`.
    std::size_t count(sio::log_level level, std::string_view text) const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(std::count_if(records_.begin(), records_.end(), [&](const auto& r) {
            return r.first == level && r.second.find(text) != std::string::npos;
        }));
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::pair<sio::log_level, std::string>> records_;
};

BOOST_AUTO_TEST_CASE(typed_handler_exception_is_logged_apart_from_arguments_that_do_not_convert) {
    socket_log_capture logs;
    sio_server ts;
    ts.io().on_connection([](sio::socket s) {
        s.on("add", [](sio::socket s, int a, int b) {
            if (a < 0)
                throw std::runtime_error("negative operand");
            s.emit("sum", a + b);
        });
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(42["add","x",1])"); // does not convert: dropped
    c.send(R"(42["add",1])");     // too few arguments: dropped
    c.send(R"(42["add",-1,1])");  // the handler throws
    c.send(R"(42["add",1,2])");   // the socket still serves (the events are handled in order)
    BOOST_TEST(c.read() == R"(42["sum",3])");

    BOOST_TEST(logs.count(sio::log_level::debug, "dropped event add") == 2u);
    BOOST_TEST(logs.count(sio::log_level::error, "a handler of event add threw: negative operand") == 1u);
    BOOST_TEST(logs.count(sio::log_level::error, "") == 1u); // the conversions are not errors
}

BOOST_AUTO_TEST_CASE(reserved_event_names_are_refused_at_registration) {
    sio_server ts;
    auto& io = ts.io();
    for (const char* name : {"connection", "connect", "new_namespace"}) {
        BOOST_TEST_CONTEXT(name) {
            BOOST_CHECK_THROW(io.on(name, [](sio::event&) {}), std::invalid_argument);
            BOOST_CHECK_THROW(io.of("/admin").on(name, [](sio::event&) {}), std::invalid_argument);
        }
    }
    try {
        io.on("connection", [](sio::event&) {});
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("on_connection") != std::string::npos);
    }
    io.on("disconnect", [](sio::event&) {}); // a server-side event name like any other

    std::mutex m;
    std::map<std::string, std::string> refused; // name -> what the exception said
    std::vector<std::string> accepted;
    const std::vector<std::string> socket_reserved{"connect",       "connect_error", "disconnect",
                                                   "disconnecting", "newListener",   "removeListener"};
    io.on_connection([&](sio::socket s) {
        for (const auto& name : socket_reserved) {
            try {
                s.on(name, [](sio::socket, sio::event&) {});
                std::lock_guard lock(m);
                accepted.push_back("plain " + name);
            } catch (const std::invalid_argument& e) {
                std::lock_guard lock(m);
                refused[name] = e.what();
            }
            try {
                s.on(name, [](sio::socket, int) {});
                std::lock_guard lock(m);
                accepted.push_back("typed " + name);
            } catch (const std::invalid_argument&) {
            }
        }
        s.on("mark", [&](sio::socket) { ts.log().add("mark"); });
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    c.send(R"(42["mark"])");
    BOOST_TEST_REQUIRE(ts.log().wait("mark"));
    std::lock_guard lock(m);
    BOOST_TEST(accepted.empty());
    BOOST_TEST(refused.size() == socket_reserved.size());
    BOOST_TEST(refused["disconnect"].find("on_disconnect") != std::string::npos);
    BOOST_TEST(refused["disconnecting"].find("on_disconnecting") != std::string::npos);
    BOOST_TEST(refused["connect"].find("on_connection") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reserved_event_names_cannot_be_emitted) {
    sio_server ts;
    std::mutex m;
    std::vector<std::string> outcomes;
    ts.io().on_connection([&](sio::socket s) {
        auto attempt = [&](const std::string& what, auto&& emit) {
            std::string outcome = what + " sent";
            try {
                emit();
            } catch (const std::invalid_argument& e) {
                outcome = what + " refused";
                if (std::string(e.what()).find("reserved") == std::string::npos)
                    outcome += " without saying why";
            }
            std::lock_guard lock(m);
            outcomes.push_back(outcome);
        };
        attempt("socket", [&] { s.emit("disconnect"); });
        attempt("socket timeout", [&] { s.timeout(std::chrono::seconds(1)).emit("connect", 1); });
        attempt("socket ack", [&] { (void)s.emit_with_ack("connect_error"); });
        attempt("broadcast", [&] { s.broadcast().emit("disconnecting"); });
        attempt("namespace", [&] { ts.io().emit("newListener"); });
        attempt("room ack", [&] {
            (void)ts.io().to("r").timeout(std::chrono::seconds(1)).emit_with_ack("removeListener");
        });
        s.emit("done");
    });
    ts.start();
    auto c = ts.client();
    c.connect();
    BOOST_TEST(c.read() == R"(42["done"])"); // nothing reserved reached the client before
    std::lock_guard lock(m);
    const std::vector<std::string> expected{"socket refused",     "socket timeout refused",
                                            "socket ack refused", "broadcast refused",
                                            "namespace refused",  "room ack refused"};
    BOOST_TEST(outcomes == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fetched_local_socket_is_a_snapshot_taken_on_its_strand) {
    sio_server ts;
    ts.io().on_connection([&](sio::socket s) {
        ts.log().keep(s);
        s.data() = {{"score", 1}};
        s.on("bump", [&](sio::socket s) {
            s.data().as_object()["score"] = 2;
            s.join("later");
            s.emit("bumped");
        });
        s.on("live", [&](sio::socket s) { s.emit("live", s.data()); });
    });
    ts.start();
    auto c = ts.client();
    const auto sid = c.connect();
    auto fetch = ts.spawn(ts.io().fetch_sockets());
    const auto fetched = get(fetch);
    BOOST_TEST_REQUIRE(fetched.size() == 1u);
    c.send(R"(42["bump"])");
    BOOST_TEST(c.read() == R"(42["bumped"])");

    const sio::remote_socket& r = *fetched.begin();
    BOOST_TEST(r.id() == sid);
    BOOST_TEST(json::serialize(r.data()) == R"({"score":1})"); // not the socket's live data
    BOOST_TEST(r.rooms() == std::vector<std::string>{sid});
    BOOST_TEST(r.handshake().address == "127.0.0.1");
    BOOST_TEST_REQUIRE(static_cast<bool>(r.local())); // live access to the local socket
    BOOST_TEST((r.local() == ts.log().find_socket(sid)));
    c.send(R"(42["live"])");
    BOOST_TEST(c.read() == R"(42["live",{"score":2}])");
}

BOOST_AUTO_TEST_SUITE_END()
