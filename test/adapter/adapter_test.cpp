// Loopback tests of the adapter layer: the utility methods (`sockets_join`, `sockets_leave`,
// `disconnect_sockets`, `fetch_sockets`) with every filter on one server (the in-memory adapter), the room
// events, server-side events, and the cluster paths between several `sio::server`s wired by the in-process
// bus of support/bus_adapter.hpp (messages serialised at a real boundary; a deaf server never answers).
// Clients are raw WebSocket Socket.IO clients (support/sio_loopback.hpp); every wait is bounded.
#include <sio/sio.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include "support/bus_adapter.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;

namespace {

/// The rooms of the fetched socket `id`.
std::vector<std::string> rooms_of(const sio::fetch_sockets_result& r, const std::string& id) {
    for (const auto& s : r)
        if (s.id() == id)
            return sorted(s.rooms());
    return {};
}

/// Three clients on "/" of one server.
struct trio {
    sio_server ts;
    std::optional<sio_client> a, b, c;
    std::string ida, idb, idc;
    trio() {
        install(ts.io().of("/"), ts.log());
        install(ts.io().of("/admin"), ts.log());
        ts.start();
        a.emplace(ts.client());
        b.emplace(ts.client());
        c.emplace(ts.client());
        ida = a->connect();
        idb = b->connect();
        idc = c->connect();
        BOOST_REQUIRE(ts.log().wait("connect /", 3));
    }
    sio::fetch_sockets_result fetch(const sio::namespace_& nsp) {
        return get_fetch(ts.spawn(nsp.fetch_sockets()));
    }
    sio::fetch_sockets_result fetch(const sio::broadcast_operator& op) {
        return get_fetch(ts.spawn(op.fetch_sockets()));
    }
    static sio::fetch_sockets_result get_fetch(std::future<sio::fetch_sockets_result> f) { return get(f); }
    std::error_code run(boost::asio::awaitable<std::error_code> op) {
        auto f = ts.spawn(std::move(op));
        return get(f);
    }
};

} // namespace

// =====================================================================================================
// One server: the in-memory adapter
// =====================================================================================================

BOOST_FIXTURE_TEST_SUITE(one_server, trio)

BOOST_AUTO_TEST_CASE(sockets_join_and_leave_with_every_filter) {
    auto& io = ts.io();
    // A single socket id as a room.
    BOOST_TEST(!run(io.in(ida).sockets_join("r1")));
    BOOST_TEST(ids(fetch(io.in("r1"))) == std::vector<std::string>{ida});
    // except: everybody not in r1.
    BOOST_TEST(!run(io.except("r1").sockets_join(std::vector<std::string>{"r2", "r3"})));
    BOOST_TEST(ids(fetch(io.in("r2"))) == sorted({idb, idc}));
    BOOST_TEST(rooms_of(fetch(io.of("/").local()), idb) == sorted({idb, "r2", "r3"}));
    // Several rooms, each socket once.
    BOOST_TEST(ids(fetch(io.in(std::vector<std::string>{"r1", "r2", "r3"}))) == sorted({ida, idb, idc}));
    // in + except.
    BOOST_TEST(!run(io.in("r2").except(idc).sockets_leave("r3")));
    BOOST_TEST(ids(fetch(io.in("r3"))) == std::vector<std::string>{idc});
    // A broadcast to a room joined this way reaches exactly its members.
    io.to("r2").emit("hello", 1);
    BOOST_TEST(b->read() == R"(42["hello",1])");
    BOOST_TEST(c->read() == R"(42["hello",1])");
    a->send(R"(42["ping"])"); // a got nothing: its next packet would be the broadcast
    // Leave several rooms at once, on every socket.
    BOOST_TEST(!run(io.sockets_leave(std::vector<std::string>{"r1", "r2", "r3"})));
    BOOST_TEST(fetch(io.in(std::vector<std::string>{"r1", "r2", "r3"})).size() == 0u);
    // Sockets see the rooms the utility methods gave them.
    auto sb = ts.log().find_socket(idb);
    BOOST_TEST(!run(io.in(idb).sockets_join("seen")));
    BOOST_TEST(sorted(sb.rooms()) == sorted({idb, "seen"}));
}

// Every socket is in the room named after its id. It may leave that room, join it again, and other sockets
// may join it too: the room then behaves like any other.
BOOST_AUTO_TEST_CASE(a_sockets_own_room_is_a_room_like_the_others) {
    auto& io = ts.io();
    const auto& adapter = io.of("/").adapter();
    const auto local_rooms = [&adapter] { return sorted(adapter.local_rooms()); };
    BOOST_TEST(local_rooms() == sorted({ida, idb, idc}), boost::test_tools::per_element());
    // b joins a's room: a broadcast to a's id reaches both, once each, also through several rooms.
    BOOST_TEST(!run(io.in(idb).sockets_join(ida)));
    BOOST_TEST(ids(fetch(io.in(ida))) == sorted({ida, idb}), boost::test_tools::per_element());
    BOOST_TEST(ids(fetch(io.in(std::vector<std::string>{ida, idb}))) == sorted({ida, idb}),
               boost::test_tools::per_element());
    BOOST_TEST(ids(fetch(io.except(ida))) == std::vector<std::string>{idc});
    BOOST_TEST(rooms_of(fetch(io.of("/").local()), idb) == sorted({ida, idb}),
               boost::test_tools::per_element());
    BOOST_TEST(local_rooms() == sorted({ida, idb, idc}), boost::test_tools::per_element());
    io.to(ida).emit("mine", 1);
    BOOST_TEST(a->read() == R"(42["mine",1])");
    BOOST_TEST(b->read() == R"(42["mine",1])");
    // Both leave it: the room is gone.
    BOOST_TEST(!run(io.in(ida).sockets_leave(ida)));
    BOOST_TEST(fetch(io.in(ida)).size() == 0u);
    BOOST_TEST(rooms_of(fetch(io.of("/").local()), ida).empty());
    BOOST_TEST(local_rooms() == sorted({idb, idc}), boost::test_tools::per_element());
    BOOST_TEST(ids(fetch(io.except(idb))) == sorted({ida, idc}), boost::test_tools::per_element());
    // a joins its room again, after another room: joining order is kept.
    auto sa = ts.log().find_socket(ida);
    BOOST_TEST(!run(io.of("/")
                        .except(std::vector<std::string>{idb, idc})
                        .sockets_join(std::vector<std::string>{"y", ida})));
    BOOST_TEST(ids(fetch(io.in(ida))) == std::vector<std::string>{ida});
    BOOST_TEST(rooms_of(fetch(io.of("/").local()), ida) == sorted({"y", ida}),
               boost::test_tools::per_element());
    std::vector<std::string> in_order;
    auto done = std::make_shared<std::promise<void>>();
    auto got = done->get_future();
    boost::asio::post(sa.executor(), [sa, &in_order, done] {
        in_order = sa.rooms();
        done->set_value();
    });
    BOOST_REQUIRE(got.wait_for(5s) == std::future_status::ready);
    BOOST_TEST(in_order == (std::vector<std::string>{"y", ida}), boost::test_tools::per_element());
    io.to(ida).emit("back", 2);
    BOOST_TEST(a->read() == R"(42["back",2])");
}

BOOST_AUTO_TEST_CASE(disconnect_sockets_without_and_with_close) {
    auto& io = ts.io();
    BOOST_TEST(!run(io.in(idb).sockets_join("gone")));
    // Without close: the client gets a DISCONNECT for the namespace and keeps its connection.
    BOOST_TEST(!run(io.in("gone").disconnect_sockets()));
    BOOST_TEST(b->read() == "41");
    BOOST_TEST(ts.log().wait("disconnect / server namespace disconnect"));
    const auto again = b->connect();
    BOOST_TEST(again != idb);
    // With close: the Engine.IO connection ends.
    BOOST_TEST(!run(io.in(idc).disconnect_sockets(true)));
    BOOST_TEST(c->closed());
    BOOST_TEST(ts.log().wait("disconnect / server namespace disconnect", 2));
    BOOST_TEST(ids(fetch(io.of("/").local())) == sorted({ida, again}));
}

BOOST_AUTO_TEST_CASE(the_documented_example_with_namespaces_rooms_except_and_local) {
    auto& io = ts.io();
    const auto xa = a->connect("/admin");
    const auto xb = b->connect("/admin");
    const auto xc = c->connect("/admin");
    BOOST_TEST(!run(io.of("/admin").in(std::vector<std::string>{xa, xb}).sockets_join("room1")));
    BOOST_TEST(!run(io.of("/admin").in(xb).sockets_join("room2")));
    // Only /admin's xa: in room1, not in room2, on this server.
    BOOST_TEST(!run(io.of("/admin").in("room1").except("room2").local().disconnect_sockets()));
    BOOST_TEST(a->read() == "41/admin,");
    BOOST_TEST(ids(fetch(io.of("/admin").local())) == sorted({xb, xc}));
    // The main namespace is untouched.
    BOOST_TEST(ids(fetch(io.of("/"))) == sorted({ida, idb, idc}));
}

BOOST_AUTO_TEST_CASE(fetched_sockets_emit_join_leave_and_disconnect) {
    auto& io = ts.io();
    auto sa = ts.log().find_socket(ida);
    boost::asio::post(sa.executor(), [sa] { sa.data() = boost::json::object{{"name", "ann"}}; });
    BOOST_TEST(!run(io.in(ida).sockets_join("r")));
    auto fetched = fetch(io.in("r"));
    BOOST_REQUIRE(fetched.size() == 1u);
    auto rs = *fetched.begin();
    BOOST_TEST(rs.id() == ida);
    BOOST_TEST((rs.local() == sa));
    BOOST_TEST(rs.handshake().url.starts_with("/socket.io/"));
    BOOST_TEST(sorted(rs.rooms()) == sorted({ida, "r"}));

    rs.emit("direct", "x");
    BOOST_TEST(a->read() == R"(42["direct","x"])");
    auto answer = ts.spawn(rs.timeout(2s).emit_with_ack("ask", 1));
    BOOST_TEST(a->read() == R"(420["ask",1])");
    a->send(R"(430["yes"])");
    auto r = get(answer);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.args.get<std::string>(0) == "yes");
    // Without a timeout: refused, as in the reference.
    auto no_timeout = ts.spawn(rs.emit_with_ack("ask"));
    BOOST_TEST((get(no_timeout).error == sio::error::invalid_argument));

    BOOST_TEST(!run(rs.join("more")));
    BOOST_TEST(!run(rs.leave("r")));
    BOOST_TEST(sorted(sa.rooms()) == sorted({ida, "more"}));
    BOOST_TEST(!run(rs.disconnect()));
    BOOST_TEST(a->read() == "41");
}

BOOST_AUTO_TEST_CASE(room_events) {
    // Registered on a namespace before its clients connect.
    recorder events;
    auto& adapter = ts.io().of("/rooms").adapter();
    adapter.on_create_room([&events](const std::string& room) { events.add("create " + room); });
    adapter.on_delete_room([&events](const std::string& room) { events.add("delete " + room); });
    adapter.on_join_room(
        [&events](const std::string& room, const std::string&) { events.add("join " + room); });
    adapter.on_leave_room(
        [&events](const std::string& room, const std::string&) { events.add("leave " + room); });
    install(ts.io().of("/rooms"), ts.log());
    const auto sid = a->connect("/rooms");
    BOOST_TEST(!run(ts.io().of("/rooms").in(sid).sockets_join("lobby")));
    BOOST_TEST(!run(ts.io().of("/rooms").sockets_leave("lobby")));
    a->send("41/rooms,");
    BOOST_TEST(events.wait("delete " + sid));
    const std::vector<std::string> expected{"create " + sid, "join " + sid,  "create lobby", "join lobby",
                                            "leave lobby",   "delete lobby", "leave " + sid, "delete " + sid};
    BOOST_TEST(events.events() == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(server_side_emit_on_one_server) {
    auto& io = ts.io();
    std::atomic<int> calls{0};
    io.on("note", [&calls](sio::event&) { ++calls; });
    // Nobody else: sent to no one (never to this server itself).
    auto sent = ts.spawn(io.server_side_emit("note", 1, "two"));
    BOOST_TEST(!get(sent));
    auto acked = ts.spawn(io.server_side_emit_with_ack("note", 1, 500ms));
    const auto r = get(acked);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.expected == 0u);
    BOOST_TEST(r.responses.empty());
    for (const char* name : {"connect", "connection", "new_namespace"}) {
        auto refused = ts.spawn(io.server_side_emit(name));
        BOOST_TEST((get(refused) == sio::error::reserved_event));
        auto refused_ack = ts.spawn(io.server_side_emit_with_ack(name, 100ms));
        BOOST_TEST((get(refused_ack).error == sio::error::reserved_event));
    }
    auto count = ts.spawn(io.server_count());
    BOOST_TEST(get(count) == 1u);
    BOOST_TEST(calls.load() == 0);
}

BOOST_AUTO_TEST_CASE(broadcast_with_ack_through_the_adapter) {
    auto& io = ts.io();
    auto answers = ts.spawn(io.timeout(2s).emit_with_ack("q"));
    for (auto* c : {&*a, &*b, &*c}) {
        BOOST_TEST(c->read() == R"(420["q"])");
        c->send(R"(430[7])");
    }
    const auto r = get(answers);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.responses.size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// A cluster: servers wired by the in-process bus
// =====================================================================================================

namespace {

sio::server_options on_bus(bus& b, std::string uid, bool deaf = false,
                           std::chrono::milliseconds requests_timeout = 5s) {
    sio::server_options o;
    o.adapter = bus_adapter::factory(b, std::move(uid), deaf, requests_timeout);
    return o;
}

struct cluster {
    bus medium;
    sio_server one{on_bus(medium, "one", false, 1s)};
    sio_server two{on_bus(medium, "two")};
    std::optional<sio_client> a, b;
    std::string ida, idb;
    cluster() {
        for (auto* s : {&one, &two}) {
            install(s->io().of("/"), s->log());
            s->start();
        }
        a.emplace(one.client());
        b.emplace(two.client());
        ida = a->connect();
        idb = b->connect();
        BOOST_REQUIRE(one.log().wait("connect /"));
        BOOST_REQUIRE(two.log().wait("connect /"));
    }
    template <class T>
    T on_one(boost::asio::awaitable<T> op) {
        auto f = one.spawn(std::move(op));
        return get(f);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(several_servers, cluster)

BOOST_AUTO_TEST_CASE(utility_methods_reach_the_other_server) {
    auto& io = one.io();
    BOOST_TEST(on_one(io.server_count()) == 2u);
    // Join on the other server, then a broadcast from this one reaches the member there.
    BOOST_TEST(!on_one(io.in(idb).sockets_join("shared")));
    auto sb = two.log().find_socket(idb);
    boost::asio::post(sb.executor(), [sb] { sb.data() = boost::json::object{{"name", "bob"}}; });
    auto fetched = on_one(io.in("shared").fetch_sockets());
    BOOST_TEST(!fetched.error);
    BOOST_TEST(ids(fetched) == std::vector<std::string>{idb});
    BOOST_TEST(rooms_of(fetched, idb) == sorted({idb, "shared"}));
    BOOST_TEST(!fetched.begin()->local());
    BOOST_TEST(boost::json::serialize(fetched.begin()->data()) == R"({"name":"bob"})");
    io.to("shared").emit("hi", "there");
    BOOST_TEST(b->read() == R"(42["hi","there"])");
    // Everything, both servers.
    auto all = on_one(io.fetch_sockets());
    BOOST_TEST(ids(all) == sorted({ida, idb}));
    BOOST_TEST(all.expected == 1u);
    BOOST_TEST(all.answered == 1u);
    // local(): this server only.
    BOOST_TEST(ids(on_one(io.local().fetch_sockets())) == std::vector<std::string>{ida});
    // A remote socket, used like a local one.
    auto rs = *fetched.begin();
    rs.emit("direct", 2);
    BOOST_TEST(b->read() == R"(42["direct",2])");
    auto answer = one.spawn(rs.timeout(2s).emit_with_ack("ask"));
    BOOST_TEST(b->read() == R"(420["ask"])");
    b->send(R"(430["from two"])");
    auto r = get(answer);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.args.get<std::string>(0) == "from two");
    BOOST_TEST(!on_one(rs.leave("shared")));
    BOOST_TEST(on_one(io.in("shared").fetch_sockets()).size() == 0u);
    // Rooms of every server.
    BOOST_TEST(!on_one(io.in(ida).sockets_join("mine")));
    auto rooms = on_one(io.of("/").adapter().all_rooms());
    BOOST_TEST(sorted(rooms.rooms) == sorted({ida, idb, "mine"}));
    // Disconnect over there, without close: the client keeps its connection.
    BOOST_TEST(!on_one(rs.disconnect()));
    BOOST_TEST(b->read() == "41");
    BOOST_TEST(two.log().wait("disconnect / server namespace disconnect"));
}

BOOST_AUTO_TEST_CASE(disconnect_sockets_local_and_cluster_wide) {
    auto& io = one.io();
    BOOST_TEST(!on_one(io.local().disconnect_sockets(true)));
    BOOST_TEST(a->closed());
    BOOST_TEST(ids(on_one(io.fetch_sockets())) == std::vector<std::string>{idb});
    BOOST_TEST(!on_one(io.disconnect_sockets(true)));
    BOOST_TEST(b->closed());
    BOOST_TEST(two.log().wait("disconnect / server namespace disconnect"));
}

BOOST_AUTO_TEST_CASE(broadcast_with_ack_counts_the_clients_of_every_server) {
    auto answers = one.spawn(one.io().timeout(2s).emit_with_ack("q", 1));
    for (auto* c : {&*a, &*b}) {
        BOOST_TEST(c->read() == R"(420["q",1])");
        c->send(R"(430["ok"])");
    }
    const auto r = get(answers);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.responses.size() == 2u);
}

BOOST_AUTO_TEST_CASE(server_side_emit_reaches_the_others_but_not_the_sender) {
    recorder seen;
    one.io().on("hello",
                [&seen](sio::event& ev) { seen.add("one " + boost::json::serialize(ev.args.values)); });
    two.io().on("hello", [&seen](sio::event& ev) {
        seen.add("two " + boost::json::serialize(ev.args.values));
        ev.ack("two answers", ev.args.get<int>(0));
    });
    BOOST_TEST(!on_one(one.io().server_side_emit("hello", 1, "a", boost::json::object{{"k", true}})));
    BOOST_TEST(seen.wait(R"(two [1,"a",{"k":true}])"));
    auto r = on_one(one.io().server_side_emit_with_ack("hello", 2, 2s));
    BOOST_TEST(!r.error);
    BOOST_TEST(r.expected == 1u);
    BOOST_REQUIRE(r.responses.size() == 1u);
    BOOST_TEST(boost::json::serialize(r.responses[0].values) == R"(["two answers",2])");
    BOOST_TEST(seen.count(R"(one [1,"a",{"k":true}])") == 0u);
}

BOOST_AUTO_TEST_CASE(a_silent_server_is_named_and_partial_results_are_kept) {
    // A third server that receives nothing, so it answers nothing.
    sio_server deaf{on_bus(medium, "deaf", true)};
    install(deaf.io().of("/"), deaf.log());
    deaf.start();
    two.io().on("ping", [](sio::event& ev) { ev.ack("pong"); });
    const auto start = clock_type::now();
    auto r = on_one(one.io().server_side_emit_with_ack("ping", 300ms));
    BOOST_TEST((clock_type::now() - start >= 250ms));
    BOOST_TEST((r.error == sio::error::cluster_timeout));
    BOOST_TEST(r.expected == 2u);
    BOOST_TEST(r.answered == 1u);
    BOOST_TEST(r.silent == std::vector<std::string>{"deaf"});
    BOOST_REQUIRE(r.responses.size() == 1u);
    BOOST_TEST(r.responses[0].get<std::string>(0) == "pong");
    // fetch_sockets times out after the requests timeout (1 s for server one) with what it has.
    auto fetched = on_one(one.io().fetch_sockets());
    BOOST_TEST((fetched.error == sio::error::cluster_timeout));
    BOOST_TEST(ids(fetched) == sorted({ida, idb}));
    BOOST_TEST(fetched.silent == std::vector<std::string>{"deaf"});
    // A handler that never answers is a silent server too.
    auto unanswered = on_one(one.io().server_side_emit_with_ack("no-handler", 200ms));
    BOOST_TEST((unanswered.error == sio::error::cluster_timeout));
    BOOST_TEST(unanswered.responses.empty());
    BOOST_TEST(sorted(unanswered.silent) == sorted({"deaf", "two"}));
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Concurrency: utility methods while clients connect and disconnect (run under TSan in CI)
// =====================================================================================================

BOOST_AUTO_TEST_CASE(utility_methods_while_sockets_come_and_go) {
    bus medium;
    sio_server one{on_bus(medium, "one")}, two{on_bus(medium, "two")};
    for (auto* s : {&one, &two}) {
        install(s->io().of("/"), s->log());
        s->start(4);
    }
    std::atomic<bool> stop{false}, failed{false};
    std::atomic<int> rounds{0};
    // Two threads call the utility methods from outside the io_context while clients churn.
    std::vector<std::thread> callers;
    for (auto* s : {&one, &two}) {
        callers.emplace_back([s, &stop, &failed, &rounds] {
            try {
                while (!stop.load()) {
                    auto& io = s->io();
                    auto j = s->spawn(io.except("none").sockets_join("busy"));
                    auto f = s->spawn(io.in("busy").fetch_sockets());
                    auto l = s->spawn(io.sockets_leave("busy"));
                    auto d = s->spawn(io.in("nobody").disconnect_sockets(true));
                    io.to("busy").emit("tick");
                    (void)get(j);
                    (void)get(f);
                    (void)get(l);
                    (void)get(d);
                    ++rounds;
                }
            } catch (const std::exception&) {
                failed = true;
            }
        });
    }
    for (int i = 0; i < 20; ++i) {
        auto c1 = one.client();
        auto c2 = two.client();
        c1.connect();
        c2.connect();
        c1.close();
        c2.close();
    }
    const auto deadline = clock_type::now() + 20s;
    while (rounds.load() < 10 && !failed.load() && clock_type::now() < deadline)
        std::this_thread::yield();
    stop = true;
    for (auto& t : callers)
        t.join();
    BOOST_TEST(!failed.load());
    BOOST_TEST(rounds.load() >= 10);
    BOOST_TEST(one.log().wait("connect /", 20));
    BOOST_TEST(two.log().wait("connect /", 20));
}

// =====================================================================================================
// adapter_ready(): the adapter is connected and subscribed
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(adapter_ready)

BOOST_AUTO_TEST_CASE(resolves_at_once_with_the_memory_adapter) {
    sio_server ts;
    ts.start();
    auto f = ts.spawn(ts.io().adapter_ready());
    BOOST_TEST(!get(f));
    auto g = ts.spawn(ts.io().of("/created-later").adapter_ready());
    BOOST_TEST(!get(g));
}

BOOST_AUTO_TEST_CASE(waits_until_the_cluster_adapter_is_subscribed) {
    bus medium;
    medium.set_subscribed(false);
    sio_server ts{on_bus(medium, "one")};
    ts.start();
    auto main_ready = ts.spawn(ts.io().adapter_ready());
    auto admin_ready = ts.spawn(ts.io().of("/admin").adapter_ready());
    // Nothing resolves while unsubscribed: a marker operation on the same loop completes first.
    auto marker = ts.spawn(ts.io().server_count());
    BOOST_TEST(get(marker) == 1u);
    BOOST_TEST((main_ready.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout));
    BOOST_TEST((admin_ready.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout));

    medium.set_subscribed(true);
    BOOST_TEST(!get(main_ready));
    BOOST_TEST(!get(admin_ready));
    // A namespace created after: subscribed like the others.
    auto later = ts.spawn(ts.io().of("/later").adapter_ready());
    BOOST_TEST(!get(later));
}

namespace {

/// Waits for `ready` or for a short timer, whichever comes first: 0 when ready won, 1 for the timer.
net::awaitable<std::size_t> ready_or_timer(sio::namespace_ nsp) {
    using namespace boost::asio::experimental::awaitable_operators;
    net::steady_timer timer(co_await net::this_coro::executor, 20ms);
    auto winner = co_await (nsp.adapter_ready() || timer.async_wait(net::use_awaitable));
    co_return winner.index();
}

net::awaitable<bool> close_server(sio::server& io) {
    co_await io.close(std::chrono::milliseconds(0));
    co_return true;
}

} // namespace

BOOST_AUTO_TEST_CASE(can_be_cancelled_and_ends_when_the_server_closes) {
    bus medium;
    medium.set_subscribed(false);
    sio_server ts{on_bus(medium, "one")};
    ts.start();
    auto raced = ts.spawn(ready_or_timer(ts.io().of("/")));
    BOOST_TEST(get(raced) == 1u); // the timer won; the wait was cancelled

    auto pending = ts.spawn(ts.io().adapter_ready());
    auto closed = ts.spawn(close_server(ts.io()));
    BOOST_TEST(get(closed));
    BOOST_TEST((get(pending) == sio::error::adapter_closed));
}

BOOST_AUTO_TEST_SUITE_END()
