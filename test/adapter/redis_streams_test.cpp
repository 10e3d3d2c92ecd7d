// The Redis streams adapter: its wire format alone (entries, envelopes, sessions, the namespace hash), then
// three C++ servers on a real redis-server (started by the test on a free loopback port): every broadcast
// form and utility method, Redis killed and restarted and paused mid-traffic, connection state recovery
// across servers, hostile stream entries, retention by length or by age, and two streams (`stream_count`
// 2). Interop with Node's @socket.io/redis-streams-adapter is tested in test/interop/redis-streams.test.mjs.
#include <csignal>

#include "adapter/redis_streams_support.hpp"

using namespace streams_test;

namespace {

sd::decoded_message decode(const sd::entry_fields& f) {
    fields_t fields{{"uid", f.uid}, {"nsp", f.nsp}, {"type", f.type}};
    if (f.data)
        fields.emplace_back("data", *f.data);
    return sd::decode_entry(fields);
}

} // namespace

BOOST_AUTO_TEST_SUITE(wire)

BOOST_AUTO_TEST_CASE(namespaces_map_to_streams_as_node_hashes_them) {
    BOOST_TEST(sd::stream_for("/", "socket.io", 1) == "socket.io");
    // Java-style hash kept as a signed 32-bit integer, and JS `%` keeps the sign.
    BOOST_TEST(sd::stream_for("/notifications", "socket.io", 4) == "socket.io--3");
    BOOST_TEST(sd::js_hash_code("/") == 47);
    BOOST_TEST(sd::js_hash_code("ab") == 97 * 31 + 98);
    // A character beyond the BMP counts as two UTF-16 units.
    BOOST_TEST(sd::js_hash_code("\xf0\x9f\x98\x80") == static_cast<std::int32_t>(0xD83Du * 31u + 0xDE00u));
    // As Node's adapter computes them (its hashCode and `%`, printed by node): negative indexes included.
    BOOST_TEST(sd::js_hash_code("/notifications") == -1014064871);
    BOOST_TEST(sd::js_hash_code("/chat") == 46457863);
    BOOST_TEST(sd::js_hash_code("/\xc3\xa9") == 1690);
    BOOST_TEST(sd::js_hash_code("/\xf0\x9f\x98\x80x") == 56360166);
    BOOST_TEST(sd::js_hash_code("/a-much-longer-namespace-name-for-overflow") == 2083365367);
    BOOST_TEST(sd::stream_for("/notifications", "s", 7) == "s--1");
    BOOST_TEST(sd::stream_for("/admin", "s", 4) == "s-0");
    BOOST_TEST(sd::stream_for("/a-much-longer-namespace-name-for-overflow", "s", 7) == "s-6");
}

BOOST_AUTO_TEST_CASE(a_broadcast_entry_is_json_or_base64_msgpack) {
    sio::cluster_message m;
    m.type = kind::broadcast;
    m.uid = "0123456789abcdef";
    m.event = "plain";
    m.args.values = boost::json::array{boost::json::object{{"a", 1}}};
    m.opts.rooms = {"room1"};
    sd::entry_fields f;
    BOOST_REQUIRE(sd::encode_entry(m, "/", false, f));
    BOOST_TEST(f.type == "3");
    BOOST_TEST(
        *f.data ==
        R"({"packet":{"type":2,"data":["plain",{"a":1}],"nsp":"/"},"opts":{"rooms":["room1"],"except":[],"flags":{}}})");
    auto d = decode(f);
    BOOST_REQUIRE(d.result == sd::decoded_message::outcome::message);
    BOOST_TEST(d.nsp == "/");
    BOOST_TEST(d.message.event == "plain");
    BOOST_TEST(d.message.opts.rooms == std::vector<std::string>{"room1"});
    // With binary: base64 of the MessagePack data, binary kept.
    m.args.values = boost::json::array{boost::json::object{{"_placeholder", true}, {"num", 0}}};
    m.args.attachments = {std::string("\x01\x02\x03", 3)};
    BOOST_REQUIRE(sd::encode_entry(m, "/", false, f));
    BOOST_TEST(f.data->front() != '{');
    d = decode(f);
    BOOST_REQUIRE(d.result == sd::decoded_message::outcome::message);
    BOOST_TEST(d.message.args.attachments == std::vector<std::string>{std::string("\x01\x02\x03", 3)});
    // onlyPlaintext: JSON whatever the data.
    BOOST_REQUIRE(sd::encode_entry(m, "/", true, f));
    BOOST_TEST(f.data->front() == '{');
}

BOOST_AUTO_TEST_CASE(entries_written_by_node_decode) {
    // As captured from Node's adapter.
    const fields_t fields{
        {"uid", "2f11aa"},
        {"nsp", "/"},
        {"type", "3"},
        {"data",
         R"({"packet":{"type":2,"data":["plain",{"a":1}]},"opts":{"rooms":["room1"],"except":[],"flags":{}}})"}};
    auto d = sd::decode_entry(fields);
    BOOST_REQUIRE(d.result == sd::decoded_message::outcome::message);
    BOOST_TEST(d.message.uid == "2f11aa");
    BOOST_TEST((d.message.type == kind::broadcast));
    BOOST_TEST(boost::json::serialize(d.message.args.values) == R"([{"a":1}])");
    const fields_t join{{"uid", "x"},
                        {"nsp", "/"},
                        {"type", "4"},
                        {"data", R"({"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["r1",7]})"}};
    d = sd::decode_entry(join);
    BOOST_REQUIRE(d.result == sd::decoded_message::outcome::message);
    BOOST_TEST(d.message.rooms == (std::vector<std::string>{"r1", "7"}));
}

BOOST_AUTO_TEST_CASE(hostile_entries_are_dropped) {
    const std::string deep(64, '['); // outlives the views below
    const std::vector<fields_t> bad{
        {{"uid", "x"}, {"type", "3"}, {"data", "{}"}},                            // no nsp
        {{"uid", "x"}, {"nsp", "/"}},                                             // no type
        {{"uid", "x"}, {"nsp", "/"}, {"type", "abc"}},                            // not a number
        {{"uid", "x"}, {"nsp", "/"}, {"type", "99"}, {"data", "{}"}},             // unknown type
        {{"uid", "x"}, {"nsp", "/"}, {"type", "99999999999999999999"}},           // out of range
        {{"uid", "x"}, {"nsp", "/"}, {"type", "3"}, {"data", "{bad"}},            // not JSON
        {{"uid", "x"}, {"nsp", "/"}, {"type", "3"}, {"data", "!!!"}},             // not base64
        {{"uid", "x"}, {"nsp", "/"}, {"type", "3"}, {"data", "AAAA"}},            // not msgpack of a map
        {{"uid", "x"}, {"nsp", "/"}, {"type", "3"}},                              // no data
        {{"uid", "x"}, {"nsp", "/"}, {"type", "3"}, {"data", R"({"packet":1})"}}, // wrong field types
        {{"uid", "x"}, {"nsp", "/"}, {"type", "4"}, {"data", R"({"opts":{}})"}},  // rooms missing
        {{"uid", "x"}, {"nsp", "/"}, {"type", "6"}, {"data", R"({"opts":{},"close":3})"}},
        {{"uid", "x"}, {"nsp", "/"}, {"type", "3"}, {"data", deep}},
        {{"title", "a foreign writer"}, {"body", "hello"}},
    };
    for (const auto& f : bad) {
        auto d = sd::decode_entry(f);
        BOOST_TEST((d.result == sd::decoded_message::outcome::dropped));
        BOOST_TEST(std::string(d.why).size() > 0u);
    }
    // Heartbeats and closes of the older format: ignored, not errors.
    BOOST_TEST((sd::decode_entry({{"uid", "x"}, {"nsp", "/"}, {"type", "2"}}).result ==
                sd::decoded_message::outcome::ignored));
    for (const std::string payload :
         {std::string("\xc1"), std::string("\x81\xa4type\x03"), std::string("\x82\xa4type\x63\xa3nsp\xa1/"),
          std::string("\x93\x01\x02\x03")})
        BOOST_TEST((sd::decode_envelope(payload).result == sd::decoded_message::outcome::dropped));
}

BOOST_AUTO_TEST_CASE(envelopes_round_trip) {
    sio::cluster_message m;
    m.type = kind::fetch_sockets;
    m.uid = "u";
    m.request_id = "r";
    m.opts.rooms = {"a"};
    std::string payload;
    BOOST_REQUIRE(sd::encode_envelope(m, "/chat", payload));
    auto d = sd::decode_envelope(payload);
    BOOST_REQUIRE(d.result == sd::decoded_message::outcome::message);
    BOOST_TEST(d.nsp == "/chat");
    BOOST_TEST(d.message.request_id == "r");
    BOOST_TEST(d.message.opts.rooms == std::vector<std::string>{"a"});
    BOOST_TEST(sd::is_ephemeral(m));
    m.type = kind::sockets_join;
    BOOST_TEST(!sd::is_ephemeral(m));
    m.type = kind::all_rooms; // no message in this format
    BOOST_TEST(!sd::encode_envelope(m, "/", payload));
}

BOOST_AUTO_TEST_CASE(sessions_and_offsets) {
    sio::recovery_session s{"sid1", "pid1", {"sid1", "room1"}, boost::json::object{{"user", "alice"}}};
    auto back = sd::decode_session(sd::encode_session(s));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->sid == "sid1");
    BOOST_TEST(back->pid == "pid1");
    BOOST_TEST(back->rooms == s.rooms);
    BOOST_TEST(boost::json::serialize(back->data) == R"({"user":"alice"})");
    BOOST_TEST(!sd::decode_session("not base64!"));
    BOOST_TEST(!sd::decode_session("gA==")); // an empty map: no sid
    BOOST_TEST(sd::valid_offset("1700000000000-0"));
    BOOST_TEST(!sd::valid_offset("1700000000000"));
    BOOST_TEST(!sd::valid_offset("-1"));
    BOOST_TEST(!sd::valid_offset("1-2-3"));
    BOOST_TEST(*sd::next_offset("12-4") == "12-5");
    BOOST_TEST(!sd::next_offset("12-18446744073709551615"));
    sio::broadcast_flags f;
    BOOST_TEST(sd::reaches({"sid1", "room1"}, f));
    f.rooms = {"room2"};
    BOOST_TEST(!sd::reaches({"sid1", "room1"}, f));
    f.rooms = {"room1"};
    f.except = {"sid1"};
    BOOST_TEST(!sd::reaches({"sid1", "room1"}, f));
}

BOOST_AUTO_TEST_SUITE_END()

// --- on a real Redis ------------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(three_servers, streams_cluster)

BOOST_AUTO_TEST_CASE(every_broadcast_form_across_the_stream) {
    auto& io = one->io();
    io.emit("all", 1);
    BOOST_TEST(a->read() == R"(42["all",1])");
    BOOST_TEST(b->read() == R"(42["all",1])");
    BOOST_TEST(c->read() == R"(42["all",1])");
    BOOST_TEST(!on_one(io.in(idb).sockets_join("room1")));
    BOOST_TEST(!on_one(io.in(idc).sockets_join("room2")));
    io.to("room1").emit("r1");
    BOOST_TEST(b->read() == R"(42["r1"])");
    io.except("room1").emit("not-r1");
    BOOST_TEST(a->read() == R"(42["not-r1"])");
    BOOST_TEST(c->read() == R"(42["not-r1"])");
    io.to(std::vector<std::string>{"room1", "room2"}).except(idc).emit("r1r2");
    BOOST_TEST(b->read() == R"(42["r1r2"])");
    io.to(idc).emit("direct", "x");
    BOOST_TEST(c->read() == R"(42["direct","x"])");
    // Binary, in order with a text one behind it.
    two->io().emit("bin", sio::binary{std::string("\x01\x02\x03", 3)});
    two->io().emit("text-after");
    BOOST_TEST(a->read() == R"(451-["bin",{"_placeholder":true,"num":0}])");
    BOOST_TEST(a->read_binary() == std::string("\x01\x02\x03", 3));
    BOOST_TEST(a->read() == R"(42["text-after"])");
    BOOST_TEST(c->read() == R"(451-["bin",{"_placeholder":true,"num":0}])");
    BOOST_TEST(c->read_binary() == std::string("\x01\x02\x03", 3));
    BOOST_TEST(c->read() == R"(42["text-after"])");
    BOOST_TEST(b->read() == R"(451-["bin",{"_placeholder":true,"num":0}])");
    BOOST_TEST(b->read_binary() == std::string("\x01\x02\x03", 3));
    BOOST_TEST(b->read() == R"(42["text-after"])");
    // Volatile, and a local-only one that stays here.
    io.volatile_().emit("vol");
    io.local().emit("local-only");
    BOOST_TEST(a->read() == R"(42["vol"])");
    BOOST_TEST(a->read() == R"(42["local-only"])");
    BOOST_TEST(b->read() == R"(42["vol"])");
    io.emit("marker");
    BOOST_TEST(b->read() == R"(42["marker"])"); // the local-only one is not in the stream
}

BOOST_AUTO_TEST_CASE(utility_methods_across_servers) {
    auto& io = one->io();
    BOOST_TEST(on_one(io.server_count()) == 3u);
    BOOST_TEST(!on_one(io.in(idb).sockets_join("shared")));
    auto sb = two->log().find_socket(idb);
    boost::asio::post(sb.executor(), [sb] { sb.data() = boost::json::object{{"name", "bob"}}; });
    // The join went through the stream; a fetch through pub/sub.
    auto fetched = on_one(io.in("shared").fetch_sockets());
    BOOST_TEST(!fetched.error);
    BOOST_TEST(ids(fetched) == std::vector<std::string>{idb});
    BOOST_REQUIRE(fetched.size() == 1u);
    const auto rs = *fetched.begin();
    BOOST_TEST(sorted(rs.rooms()) == sorted({idb, "shared"}));
    BOOST_TEST(boost::json::serialize(rs.data()) == R"({"name":"bob"})");
    BOOST_TEST(ids(on_one(io.fetch_sockets())) == sorted({ida, idb, idc}));
    auto rooms = on_one(io.of("/").adapter().all_rooms());
    BOOST_TEST(!rooms.error);
    BOOST_TEST(sorted(rooms.rooms) == sorted({ida, idb, idc, "shared"}));
    rs.emit("direct", 2);
    BOOST_TEST(b->read() == R"(42["direct",2])");
    BOOST_TEST(!on_one(io.in("shared").sockets_leave("shared")));
    BOOST_TEST(on_one(io.in("shared").fetch_sockets()).size() == 0u);
    // Broadcast with acknowledgements, clients on all three servers (pub/sub).
    auto answers = one->spawn(io.timeout(2s).emit_with_ack("q"));
    BOOST_TEST(a->read() == R"(420["q"])");
    a->send(R"(430["a"])");
    BOOST_TEST(b->read() == R"(420["q"])");
    b->send(R"(430["b"])");
    BOOST_TEST(c->read() == R"(420["q"])");
    c->send(R"(430["c"])");
    const auto all = get(answers);
    BOOST_TEST(!all.error);
    BOOST_TEST(all.responses.size() == 3u);
    // Server-side events, with and without acknowledgements.
    recorder seen;
    for (auto* s : {&*two, &*three})
        s->io().on("ping", [&seen](sio::event& ev) {
            seen.add("ping " + boost::json::serialize(ev.args.values));
            ev.ack("pong");
        });
    BOOST_TEST(!on_one(io.server_side_emit("ping", 1, "a")));
    BOOST_TEST(seen.wait(R"(ping [1,"a"])", 2));
    auto pongs = on_one(io.server_side_emit_with_ack("ping", 2, 2s));
    BOOST_TEST(!pongs.error);
    BOOST_TEST(pongs.expected == 2u);
    BOOST_REQUIRE(pongs.responses.size() == 2u);
    BOOST_TEST(pongs.responses[0].get<std::string>(0) == "pong");
    // Disconnect over there, through the stream.
    BOOST_TEST(!on_one(io.in(idc).disconnect_sockets(true)));
    BOOST_TEST(c->closed());
    BOOST_TEST(three->log().wait("disconnect / server namespace disconnect"));
}

BOOST_AUTO_TEST_CASE(redis_killed_and_restarted_loses_no_entry_that_reached_it) {
    raw_redis raw(redis.port());
    for (int i = 0; i < 20; ++i)
        one->io().emit("before", i);
    // Once they are in Redis (on disk too: appendfsync always), whether the readers got them yet or not.
    for (const auto deadline = clock_type::now() + 5s;
         raw.run({"XLEN", "socket.io"}).integer < 20 && clock_type::now() < deadline;)
        ;
    BOOST_TEST(health_status(*one) == 200u);
    ::kill(redis.pid(), SIGKILL); // mid-traffic: no chance to say goodbye
    for (int i = 0; i < 20; ++i)
        one->io().emit("during", i); // lost or not: whatever reached Redis must arrive
    // The health check tells the load balancer (the subscriber and the stream's reader are cut off).
    for (auto* s : {&*one, &*two, &*three})
        BOOST_TEST(wait_health(*s, 503));
    BOOST_REQUIRE(redis.restart()); // the same port; the append-only file brings the stream back
    for (auto* s : {&*one, &*two, &*three})
        BOOST_TEST(wait_health(*s, 200));
    // Entries written before the readers are back must arrive too (a reader that went on from `$` would
    // lose them).
    const std::string fields_data =
        R"({"packet":{"type":2,"data":["after"]},"opts":{"rooms":[],"except":[],"flags":{}}})";
    for (int i = 0; i < 5; ++i)
        raw.run(
            {"XADD", "socket.io", "*", "uid", "raw-writer", "nsp", "/", "type", "3", "data", fields_data});
    // The command connection may still be dialling again: a marker that reaches the other servers.
    bool through = false;
    for (const auto deadline = clock_type::now() + 10s; !through && clock_type::now() < deadline;) {
        auto f = one->spawn(one->io().fetch_sockets());
        through = !get(f, 10s).error;
    }
    BOOST_REQUIRE(through);
    one->io().emit("marker");
    // Each of the other servers delivered exactly the broadcasts in the stream, in stream order.
    for (auto* client : {&*b, &*c}) {
        const auto got = events_until_marker(*client);
        const auto expected = raw.broadcast_events("socket.io");
        BOOST_TEST(expected.size() >= 26u);
        BOOST_TEST(got == expected, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(redis_paused_recovers) {
    raw_redis raw(redis.port());
    ::kill(redis.pid(), SIGSTOP);
    for (int i = 0; i < 5; ++i)
        one->io().emit("paused", i);
    // Local delivery does not wait for Redis.
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(a->read() == R"(42["paused",)" + std::to_string(i) + "]");
    // Longer than the command timeout: the connections give up and dial again.
    std::this_thread::sleep_for(1500ms); // the fault being tested, not a synchronisation
    ::kill(redis.pid(), SIGCONT);
    // Cross-server delivery resumes: every broadcast in the stream arrives once, in order.
    bool through = false;
    for (const auto deadline = clock_type::now() + 10s; !through && clock_type::now() < deadline;) {
        auto f = one->spawn(one->io().fetch_sockets());
        through = !get(f, 10s).error;
    }
    BOOST_REQUIRE(through);
    one->io().emit("marker");
    const auto got = events_until_marker(*b);
    BOOST_TEST(got == raw.broadcast_events("socket.io"), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(hostile_entries_are_dropped_with_a_log_line) {
    adapter_warnings warnings;
    raw_redis raw(redis.port());
    const std::vector<std::vector<std::string>> entries{
        {"uid", "x", "type", "3", "data", "{}"},
        {"uid", "x", "nsp", "/", "type", "abc"},
        {"uid", "x", "nsp", "/", "type", "42", "data", "{}"},
        {"uid", "x", "nsp", "/", "type", "3", "data", "{not json"},
        {"uid", "x", "nsp", "/", "type", "3", "data", "%%%"},
        {"uid", "x", "nsp", "/", "type", "3", "data", R"({"packet":"p","opts":7})"},
        {"title", "a foreign writer", "body", "hello"},
    };
    for (const auto& e : entries) {
        std::vector<std::string> cmd{"XADD", "socket.io", "*"};
        cmd.insert(cmd.end(), e.begin(), e.end());
        raw.run(cmd);
    }
    // Hostile pub/sub messages on the request channel too.
    raw.run({"PUBLISH", "socket.io#/#", "\xc1"});
    raw.run({"PUBLISH", "socket.io#/#", "\x81\xa4type\x07"});
    // Still serving; each server read past them (two's broadcast reaches one through the stream).
    one->io().emit("after", "garbage");
    BOOST_TEST(b->read() == R"(42["after","garbage"])");
    BOOST_TEST(c->read() == R"(42["after","garbage"])");
    two->io().emit("after2");
    BOOST_TEST(a->read() == R"(42["after","garbage"])");
    BOOST_TEST(a->read() == R"(42["after2"])");
    // Each of the three servers logged each hostile entry.
    BOOST_TEST(warnings.count("dropped a message from the stream") >= 3 * entries.size());
    BOOST_TEST(warnings.count("dropped a message from socket.io#/#") >= 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// --- sharded pub/sub ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(requests_and_answers_over_sharded_pubsub) {
    // `use_sharded_pubsub` (Node's `useShardedPubSub`): fetches, server-side events and their answers over
    // SSUBSCRIBE / SPUBLISH, the server count from PUBSUB SHARDNUMSUB; no classic channel is used.
    redis_server redis;
    BOOST_REQUIRE(redis.start());
    raw_redis raw(redis.port());
    const auto sharded = [](sio::redis_streams_options& o) { o.use_sharded_pubsub = true; };
    sio_server one(streams_server_options(redis.port(), false, sharded));
    sio_server two(streams_server_options(redis.port(), false, sharded));
    for (auto* s : {&one, &two}) {
        install(s->io().of("/"), s->log());
        s->start();
        BOOST_REQUIRE(!streams_cluster::on(*s, s->io().adapter_ready()));
    }
    auto b = two.client();
    const auto idb = b.connect();
    BOOST_TEST(streams_cluster::on(one, one.io().server_count()) == 2u);
    const auto fetched = streams_cluster::on(one, one.io().fetch_sockets());
    BOOST_TEST(!fetched.error);
    BOOST_TEST(ids(fetched) == std::vector<std::string>{idb});
    two.io().on("ping", [](sio::event& ev) { ev.ack("pong"); });
    auto pongs = streams_cluster::on(one, one.io().server_side_emit_with_ack("ping", 1, 2s));
    BOOST_TEST(!pongs.error);
    BOOST_REQUIRE(pongs.responses.size() == 1u);
    BOOST_TEST(pongs.responses[0].get<std::string>(0) == "pong");
    const auto shard_channels = raw.run({"PUBSUB", "SHARDCHANNELS"});
    BOOST_TEST(std::any_of(shard_channels.elements.begin(), shard_channels.elements.end(),
                           [](const auto& e) { return e.str == "socket.io#/#"; }));
    BOOST_TEST(raw.run({"PUBSUB", "CHANNELS"}).elements.empty());
}

// --- connection state recovery across servers ---------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(recovery, recovering_cluster)

BOOST_AUTO_TEST_CASE(a_client_dropped_from_one_server_recovers_on_another) {
    raw_redis raw(redis.port());
    auto x = one->client();
    x.send("40");
    const auto first = connect_answer(x.read());
    BOOST_REQUIRE(!first.pid.empty());
    BOOST_TEST(!on(*two, two->io().in(first.sid).sockets_join("room1")));
    auto sx = one->log().find_socket(first.sid);
    boost::asio::post(sx.executor(), [sx] { sx.data() = boost::json::object{{"user", "alice"}}; });
    // The offset of a broadcast is its stream entry id, on every server.
    two->io().emit("seen", 0);
    const std::string offset = last_argument(x.read());
    BOOST_TEST(sd::valid_offset(offset));
    const std::string on_b = last_argument(b->read());
    BOOST_TEST(on_b == offset);
    x.close();
    BOOST_REQUIRE(one->log().wait("disconnect / transport close"));
    // The session is in Redis (once server one's SET went through), in Node's format, with a millisecond
    // expiry.
    auto stored = raw.run({"GET", "sio:session:" + first.pid});
    for (const auto deadline = clock_type::now() + 5s;
         stored.type != sio::redis_detail::reply::kind::string && clock_type::now() < deadline;)
        stored = raw.run({"GET", "sio:session:" + first.pid});
    BOOST_REQUIRE(stored.type == sio::redis_detail::reply::kind::string);
    const auto session = sd::decode_session(stored.str);
    BOOST_REQUIRE(session.has_value());
    BOOST_TEST(session->sid == first.sid);
    BOOST_TEST(raw.run({"PTTL", "sio:session:" + first.pid}).integer > 100000);

    // Missed broadcasts, from several servers.
    two->io().emit("all", 1);
    three->io().to("room1").emit("r1", 2);
    three->io().to("room2").emit("r2", 3);
    two->io().except("room1").emit("not-r1", 4);
    one->io().to(first.sid).emit("direct", 5);
    two->io().of("/other").emit("elsewhere", 6);
    // Every one of them reached the stream (each server XADDs on its own connection).
    for (const auto deadline = clock_type::now() + 5s; clock_type::now() < deadline;) {
        const auto in_stream = raw.broadcast_events("socket.io");
        if (std::find(in_stream.begin(), in_stream.end(), "direct") != in_stream.end() &&
            std::find(in_stream.begin(), in_stream.end(), "not-r1") != in_stream.end() &&
            std::find(in_stream.begin(), in_stream.end(), "r2") != in_stream.end())
            break;
    }
    // Back on server three.
    auto y = three->client();
    y.send(R"(40{"pid":")" + first.pid + R"(","offset":")" + offset + R"("})");
    // The missed ones (in stream order, which the three servers' timing decides), each with its offset.
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i) {
        const auto text = y.read();
        BOOST_TEST(sd::valid_offset(last_argument(text)));
        got.push_back(text.substr(0, text.rfind(',')));
    }
    BOOST_TEST(sorted(got) == sorted({R"(42["all",1)", R"(42["direct",5)", R"(42["r1",2)"}),
               boost::test_tools::per_element());
    const auto back = connect_answer(y.read());
    BOOST_TEST(back.sid == first.sid);
    BOOST_TEST(back.pid == first.pid);
    auto sy = three->log().find_socket(first.sid);
    BOOST_TEST(sy.recovered());
    BOOST_TEST(sorted(sy.rooms()) == sorted({first.sid, "room1"}));
    auto data = three->spawn([](sio::socket s) -> boost::asio::awaitable<std::string> {
        co_await boost::asio::dispatch(s.executor(), boost::asio::use_awaitable);
        co_return boost::json::serialize(s.data());
    }(sy));
    BOOST_TEST(get(data) == R"({"user":"alice"})");
    // Consumed, as Node consumes it.
    BOOST_TEST((raw.run({"EXISTS", "sio:session:" + first.pid}).integer == 0));
    // Live again, through the stream.
    one->io().to("room1").emit("live", 7);
    BOOST_TEST(y.read().starts_with(R"(42["live",7,")"));
}

BOOST_AUTO_TEST_CASE(an_unknown_offset_or_pid_gets_a_fresh_socket) {
    auto x = one->client();
    x.send("40");
    const auto first = connect_answer(x.read());
    x.close();
    BOOST_REQUIRE(one->log().wait("disconnect / transport close"));
    auto y = two->client();
    y.send(R"(40{"pid":")" + first.pid + R"(","offset":"1-0"})"); // trimmed or never there
    BOOST_TEST(connect_answer(y.read()).sid != first.sid);
    auto z = two->client();
    z.send(R"(40{"pid":"nobody","offset":"not-an-offset"})");
    BOOST_TEST(connect_answer(z.read()).sid != first.sid);
}

BOOST_AUTO_TEST_SUITE_END()

// --- retention ------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(min_retention_trims_by_age_instead_of_length) {
    redis_server redis;
    BOOST_REQUIRE(redis.start());
    raw_redis raw(redis.port());
    small_stream_nodes(raw);
    for (const auto retention : {0ms, 60000ms, 200ms}) {
        const std::string stream = "retention-" + std::to_string(retention.count());
        sio::server_options o;
        sio::redis_streams_options r;
        r.port = redis.port();
        r.stream_name = stream;
        r.max_len = 1;
        r.min_retention = retention;
        o.adapter = sio::redis_streams_adapter(std::move(r));
        sio_server server(std::move(o));
        server.start();
        BOOST_REQUIRE(!streams_cluster::on(server, server.io().adapter_ready()));
        const auto len = broadcast_51(raw, server, stream);
        if (retention == 0ms) {
            BOOST_TEST(len <= 10); // MAXLEN ~ 1: the newest node is left
        } else if (retention == 60s) {
            BOOST_TEST(len == 51); // MINID instead of MAXLEN: younger than a minute, none goes
        } else {
            // Once they are older than the retention, the next entry's MINID trims them (all but the
            // newest node, which the new entry joins).
            BOOST_TEST(length_once_aged(raw, server, stream, retention) <= 11);
        }
    }
}

// --- stream_count ---------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(two_streams_each_read_by_its_own_reader) {
    redis_server redis;
    BOOST_REQUIRE(redis.start());
    raw_redis raw(redis.port());
    // "/" and a namespace that Node's hash puts on the other stream.
    const std::string main_stream = sd::stream_for("/", "socket.io", 2);
    std::string other, other_stream;
    for (int i = 0; other.empty(); ++i) {
        const auto name = "/n" + std::to_string(i);
        if (sd::stream_for(name, "socket.io", 2) != main_stream) {
            other = name;
            other_stream = sd::stream_for(name, "socket.io", 2);
        }
    }
    const auto options = [&] {
        return streams_server_options(redis.port(), false,
                                      [](sio::redis_streams_options& r) { r.stream_count = 2; });
    };
    sio_server one(options()), two(options());
    for (auto* s : {&one, &two}) {
        install(s->io().of("/"), s->log());
        install(s->io().of(other), s->log());
        s->start();
        BOOST_REQUIRE(!streams_cluster::on(*s, s->io().of("/").adapter_ready()));
        BOOST_REQUIRE(!streams_cluster::on(*s, s->io().of(other).adapter_ready()));
    }
    auto client = two.client();
    client.connect("/");
    client.connect(other);
    BOOST_REQUIRE(two.log().wait("connect /"));
    BOOST_REQUIRE(two.log().wait("connect " + other));
    one.io().emit("main", 1);
    one.io().of(other).emit("side", 2);
    // Two readers: the two entries arrive in either order.
    BOOST_TEST(sorted({client.read(), client.read()}) ==
               sorted({R"(42["main",1])", "42" + other + R"(,["side",2])"}));
    BOOST_TEST(raw.broadcast_events(main_stream) == std::vector<std::string>{"main"});
    BOOST_TEST(raw.broadcast_events(other_stream) == std::vector<std::string>{"side"});
}
