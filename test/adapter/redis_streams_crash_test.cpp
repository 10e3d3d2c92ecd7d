// The Redis streams adapter's crash-safe sessions (`redis_streams_options::crash_safe_sessions`), on a real
// redis-server: a server stops dead (its io_context stopped: no disconnect path runs, nothing is saved at
// the drop) and its client recovers on another server with its rooms, its data and the broadcasts it
// missed; a session whose server is alive is not taken; writes are coalesced; with the switch off, nothing
// is written while a socket is connected, and a clean drop saves the session in Node's key as before.
#include "adapter/redis_streams_support.hpp"

using namespace streams_test;
using sio::redis_detail::reply;

namespace {

/// Two servers with recovery on one Redis, crash-safe sessions on (short intervals).
struct crash_pair {
    redis_server redis;
    std::optional<sio_server> one, two;

    crash_pair() {
        BOOST_REQUIRE(redis.start());
        for (auto* s : {&one, &two}) {
            s->emplace(options(true));
            install((*s)->io().of("/"), (*s)->log());
            (*s)->start();
        }
        for (auto* s : {&*one, &*two})
            BOOST_REQUIRE(!streams_cluster::on(*s, s->io().adapter_ready()));
    }
    ~crash_pair() {
        one.reset();
        two.reset();
        redis.stop();
    }

    sio::server_options options(bool crash_safe) {
        return streams_server_options(redis.port(), true, [crash_safe](sio::redis_streams_options& r) {
            r.crash_safe_sessions.enabled = crash_safe;
            r.crash_safe_sessions.write_interval = 50ms;
            r.crash_safe_sessions.data_check_interval = 100ms;
            r.crash_safe_sessions.owner_timeout = 600ms;
        });
    }
};

std::string record_key(const std::string& pid) {
    return "sio:live:session:" + pid;
}

/// The live record of `pid` once `ok` holds for it (within 5 s).
sio::recovery_session wait_record(raw_redis& raw, const std::string& pid,
                                  const std::function<bool(const sio::recovery_session&)>& ok) {
    const auto deadline = clock_type::now() + 5s;
    for (;;) {
        const auto r = raw.run({"HGET", record_key(pid), "session"});
        if (r.type == reply::kind::string)
            if (auto s = sd::decode_session(r.str); s && ok(*s))
                return *s;
        BOOST_REQUIRE_MESSAGE(clock_type::now() < deadline, "no live record as expected for " << pid);
    }
}

/// Polls `condition` (a Redis state) for 5 s.
bool eventually(const std::function<bool()>& condition) {
    for (const auto deadline = clock_type::now() + 5s; clock_type::now() < deadline;)
        if (condition())
            return true;
    return false;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

std::string data_of(sio_server& server, sio::socket s) {
    auto f = server.spawn([](sio::socket s) -> boost::asio::awaitable<std::string> {
        co_await boost::asio::dispatch(s.executor(), boost::asio::use_awaitable);
        co_return boost::json::serialize(s.data());
    }(s));
    return get(f);
}

/// `cmdstat_<command>:calls=N` of INFO commandstats.
std::int64_t calls(raw_redis& raw, const std::string& command) {
    const auto info = raw.run({"INFO", "commandstats"}).str;
    const std::string tag = "cmdstat_" + command + ":calls=";
    const auto at = info.find(tag);
    return at == std::string::npos ? 0 : std::stoll(info.substr(at + tag.size()));
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(crash_safe_sessions, crash_pair)

BOOST_AUTO_TEST_CASE(a_crashed_servers_client_recovers_on_another_server) {
    raw_redis raw(redis.port());
    auto x = one->client();
    x.send("40");
    const auto first = connect_answer(x.read());
    auto sx = one->log().find_socket(first.sid);
    sx.join("room1");
    boost::asio::post(sx.executor(), [sx] { sx.data() = boost::json::object{{"user", "alice"}}; });
    two->io().emit("seen", 0);
    const std::string offset = last_argument(x.read());
    // Kept current while connected: rooms and data, in Node's record format, naming its owner.
    const auto live = wait_record(raw, first.pid, [](const sio::recovery_session& s) {
        return has(s.rooms, "room1") && boost::json::serialize(s.data) == R"({"user":"alice"})";
    });
    BOOST_TEST(live.sid == first.sid);
    BOOST_TEST(live.pid == first.pid);
    const std::string owner = raw.run({"HGET", record_key(first.pid), "owner"}).str;
    BOOST_TEST((raw.run({"EXISTS", "sio:live:owner:" + owner}).integer == 1));
    BOOST_TEST((raw.run({"PTTL", record_key(first.pid)}).integer > 120000)); // outlives the owner

    // Its server is alive (it has not seen the drop): another server does not take the session, the
    // client gets a fresh socket (as with Node, whose key is absent), and the record stays.
    auto z = two->client();
    z.send(R"(40{"pid":")" + first.pid + R"(","offset":")" + offset + R"("})");
    BOOST_TEST(connect_answer(z.read()).sid != first.sid);
    BOOST_TEST((raw.run({"HEXISTS", record_key(first.pid), "session"}).integer == 1));

    one->crash(); // no disconnect path: nothing is saved in Node's key
    two->io().emit("all", 1);
    two->io().to("room1").emit("r1", 2);
    two->io().to("room2").emit("r2", 3);
    BOOST_REQUIRE(eventually([&] { return has(raw.broadcast_events("socket.io"), "r2"); }));
    BOOST_TEST((raw.run({"EXISTS", "sio:session:" + first.pid}).integer == 0));
    // The client comes back at once, usually before the dead server's owner key expires (owner_timeout):
    // the restoring server waits for that expiry once, then takes the session.
    BOOST_TEST_MESSAGE("owner key still there at the reconnection: "
                       << raw.run({"EXISTS", "sio:live:owner:" + owner}).integer);

    auto y = two->client();
    y.send(R"(40{"pid":")" + first.pid + R"(","offset":")" + offset + R"("})");
    std::vector<std::string> got;
    for (int i = 0; i < 2; ++i) {
        const auto text = y.read();
        BOOST_TEST(sd::valid_offset(last_argument(text)));
        got.push_back(text.substr(0, text.rfind(',')));
    }
    BOOST_TEST(got == (std::vector<std::string>{R"(42["all",1)", R"(42["r1",2)"}),
               boost::test_tools::per_element());
    const auto back = connect_answer(y.read());
    BOOST_TEST(back.sid == first.sid);
    BOOST_TEST(back.pid == first.pid);
    auto sy = two->log().find_socket(first.sid);
    BOOST_TEST(sy.recovered());
    BOOST_TEST(sorted(sy.rooms()) == sorted({first.sid, "room1"}));
    BOOST_TEST(data_of(*two, sy) == R"({"user":"alice"})");
    // Taken: the record is server two's now.
    BOOST_TEST(eventually([&] {
        const auto r = raw.run({"HGET", record_key(first.pid), "owner"});
        return r.type == reply::kind::string && r.str != owner;
    }));
    two->io().to("room1").emit("live", 7);
    BOOST_TEST(y.read().starts_with(R"(42["live",7,")"));
}

BOOST_AUTO_TEST_CASE(a_clean_drop_saves_in_nodes_key_and_deletes_the_live_record) {
    raw_redis raw(redis.port());
    // Recoverable drop: the session goes to Node's key as before, the live record goes.
    auto q = one->client();
    q.send("40");
    const auto dropped = connect_answer(q.read());
    wait_record(raw, dropped.pid, [](const sio::recovery_session&) { return true; });
    q.close();
    BOOST_REQUIRE(one->log().wait("disconnect / transport close"));
    BOOST_TEST(eventually([&] {
        return raw.run({"EXISTS", "sio:session:" + dropped.pid}).integer == 1 &&
               raw.run({"EXISTS", record_key(dropped.pid)}).integer == 0;
    }));
    // Not recoverable (the client left): no session anywhere.
    auto r = one->client();
    r.send("40");
    const auto left = connect_answer(r.read());
    wait_record(raw, left.pid, [](const sio::recovery_session&) { return true; });
    r.send("41");
    BOOST_REQUIRE(one->log().wait("disconnect / client namespace disconnect"));
    BOOST_TEST(eventually([&] { return raw.run({"EXISTS", record_key(left.pid)}).integer == 0; }));
    BOOST_TEST((raw.run({"EXISTS", "sio:session:" + left.pid}).integer == 0));
}

BOOST_AUTO_TEST_CASE(switched_off_nothing_is_written_while_connected) {
    raw_redis raw(redis.port());
    sio_server off(options(false));
    install(off.io().of("/"), off.log());
    off.start();
    BOOST_REQUIRE(!streams_cluster::on(off, off.io().adapter_ready()));
    auto p = off.client();
    p.send("40");
    const auto quiet = connect_answer(p.read());
    off.log().find_socket(quiet.sid).join("room1");
    // A socket of a server with the switch on, connected after it, has its record by now.
    auto q = one->client();
    q.send("40");
    wait_record(raw, connect_answer(q.read()).pid, [](const sio::recovery_session&) { return true; });
    BOOST_TEST((raw.run({"EXISTS", record_key(quiet.pid)}).integer == 0));
    BOOST_TEST(raw.run({"KEYS", "sio:live:owner:*"}).elements.size() == 2u); // servers one and two only
    p.close();
    BOOST_REQUIRE(off.log().wait("disconnect / transport close"));
    BOOST_TEST(eventually([&] { return raw.run({"EXISTS", "sio:session:" + quiet.pid}).integer == 1; }));
}

BOOST_AUTO_TEST_CASE(a_hundred_joins_cost_a_write_or_two) {
    raw_redis raw(redis.port());
    auto x = one->client();
    x.send("40");
    const auto first = connect_answer(x.read());
    wait_record(raw, first.pid, [](const sio::recovery_session&) { return true; });
    raw.run({"CONFIG", "RESETSTAT"});
    auto sx = one->log().find_socket(first.sid);
    boost::asio::post(sx.executor(), [sx] {
        for (int i = 0; i < 100; ++i)
            sx.join("room" + std::to_string(i));
    });
    wait_record(raw, first.pid, [](const sio::recovery_session& s) { return s.rooms.size() == 101; });
    const auto writes = calls(raw, "hset");
    BOOST_TEST(writes >= 1);
    BOOST_TEST(writes <= 2); // coalesced: one per write_interval at most, not one per join
}

BOOST_AUTO_TEST_CASE(a_session_whose_server_died_longer_ago_than_max_disconnection_expires) {
    raw_redis raw(redis.port());
    auto short_lived = [&] {
        auto o = options(true);
        o.connection_state_recovery->max_disconnection_duration = 300ms; // shorter than owner_timeout
        return o;
    };
    sio_server a(short_lived()), b(short_lived());
    for (auto* s : {&a, &b}) {
        install(s->io().of("/"), s->log());
        s->start();
        BOOST_REQUIRE(!streams_cluster::on(*s, s->io().adapter_ready()));
    }
    auto x = a.client();
    x.send("40");
    const auto first = connect_answer(x.read());
    b.io().emit("seen", 0);
    const std::string offset = last_argument(x.read());
    wait_record(raw, first.pid, [](const sio::recovery_session&) { return true; });
    const std::string owner = raw.run({"HGET", record_key(first.pid), "owner"}).str;
    a.crash();
    // Once the owner is dead, its seen key (max_disconnection_duration after its last refresh) is gone too.
    BOOST_REQUIRE(eventually([&] { return raw.run({"EXISTS", "sio:live:owner:" + owner}).integer == 0; }));
    BOOST_TEST((raw.run({"EXISTS", "sio:live:seen:" + owner}).integer == 0));
    auto y = b.client();
    y.send(R"(40{"pid":")" + first.pid + R"(","offset":")" + offset + R"("})");
    BOOST_TEST(connect_answer(y.read()).sid != first.sid);
    BOOST_TEST((raw.run({"EXISTS", record_key(first.pid)}).integer == 0)); // deleted by the attempt
}

BOOST_AUTO_TEST_SUITE_END()
