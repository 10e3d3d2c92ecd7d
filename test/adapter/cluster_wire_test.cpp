// The cluster-adapter message format (Node's ClusterAdapter envelope, used by the sharded and the streams
// Redis adapters) with no Redis: byte vectors as Node 4.8 / socket.io-adapter 2.5 / notepack.io 3.0 write
// them, every message kind encoded and decoded again in JSON and msgpack, Node's JSON-unless-binary
// choice, the sharded adapter's channel rule per subscription mode, and hostile payloads.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <limits>
#include <string>
#include <vector>

#include "adapter/cluster_wire.hpp"
#include "adapter/redis/sharded_channels.hpp"

namespace json = boost::json;
using namespace sio::cluster_wire;
using sio::cluster_message;
using kind = cluster_message::kind;
using outcome = decoded::outcome;

namespace {

std::string unhex(std::string_view h) {
    std::string out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

std::string hex(std::string_view s) {
    static constexpr char d[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out.push_back(d[c >> 4]);
        out.push_back(d[c & 15]);
    }
    return out;
}

// What Node writes (captured from notepack.io 3.0.1 and JSON.stringify on the envelopes ClusterAdapter
// builds).
constexpr std::string_view node_binary_broadcast =
    "84a47479706503a46461746182a67061636b657482a47479706502a46461746195a568656c6c6f01a374776fc403010203cb3ff"
    "8000000000000a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b03864356131623263336434"
    "6535663630a36e7370a12f";
constexpr std::string_view node_room_broadcast =
    R"({"type":3,"data":{"packet":{"type":2,"data":["r",{"a":1}]},"opts":{"rooms":["room1"],"except":["room2"],"flags":{"volatile":true}}},"uid":"0123456789abcdef","nsp":"/chat"})";
constexpr std::string_view node_binary_ack = "84a4747970650ca46461746182a9726571756573744964b0616161616262626"
                                             "26363636364646464a67061636b6574c40109a37569"
                                             "64b030313233343536373839616263646566a36e7370a12f";
constexpr std::string_view node_broadcast_with_ack =
    R"({"type":3,"data":{"packet":{"type":2,"data":["q"]},"requestId":"aaaabbbbccccdddd","opts":{"rooms":[],"except":[],"flags":{"timeout":1000}}},"uid":"0123456789abcdef","nsp":"/"})";

std::string encoded(const cluster_message& m, const std::string& nsp,
                    encoding how = encoding::json_unless_binary) {
    std::string out;
    BOOST_REQUIRE(encode(m, nsp, how, out));
    return out;
}

cluster_message decoded_message(std::string_view payload, const std::string& nsp) {
    auto d = decode(payload, nsp);
    BOOST_TEST_INFO(d.why);
    BOOST_REQUIRE(d.result == outcome::message);
    return std::move(d.message);
}

} // namespace

BOOST_AUTO_TEST_CASE(writes_what_node_writes) {
    cluster_message b;
    b.type = kind::broadcast;
    b.uid = "8d5a1b2c3d4e5f60";
    b.event = "hello";
    b.args.values = json::array{1, "two", json::object{{"_placeholder", true}, {"num", 0}}, 1.5};
    b.args.attachments = {std::string("\x01\x02\x03", 3)};
    BOOST_TEST(hex(encoded(b, "/")) == node_binary_broadcast); // binary: msgpack

    cluster_message r;
    r.type = kind::broadcast;
    r.uid = "0123456789abcdef";
    r.event = "r";
    r.args.values = json::array{json::object{{"a", 1}}};
    r.opts.rooms = {"room1"};
    r.opts.except = {"room2"};
    r.opts.volatile_ = true;
    BOOST_TEST(encoded(r, "/chat") == node_room_broadcast); // no binary: JSON

    cluster_message a;
    a.type = kind::broadcast_ack;
    a.uid = "0123456789abcdef";
    a.request_id = "aaaabbbbccccdddd";
    a.args.values = json::array{json::object{{"_placeholder", true}, {"num", 0}}};
    a.args.attachments = {std::string("\x09", 1)};
    BOOST_TEST(hex(encoded(a, "/")) == node_binary_ack);

    cluster_message q;
    q.type = kind::broadcast;
    q.uid = "0123456789abcdef";
    q.request_id = "aaaabbbbccccdddd";
    q.event = "q";
    q.opts.timeout = std::chrono::milliseconds(1000);
    BOOST_TEST(encoded(q, "/") == node_broadcast_with_ack);
}

BOOST_AUTO_TEST_CASE(reads_what_node_writes) {
    auto b = decoded_message(unhex(node_binary_broadcast), "/");
    BOOST_TEST((b.type == kind::broadcast));
    BOOST_TEST(b.uid == "8d5a1b2c3d4e5f60");
    BOOST_TEST(b.event == "hello");
    BOOST_TEST(json::serialize(b.args.values) == R"([1,"two",{"_placeholder":true,"num":0},1.5E0])");
    BOOST_REQUIRE(b.args.attachments.size() == 1u);
    BOOST_TEST(b.args.attachments[0] == std::string("\x01\x02\x03", 3));
    BOOST_TEST(b.request_id.empty());

    auto r = decoded_message(node_room_broadcast, "/chat");
    BOOST_TEST(r.opts.rooms == std::vector<std::string>{"room1"});
    BOOST_TEST(r.opts.except == std::vector<std::string>{"room2"});
    BOOST_TEST(r.opts.volatile_);
    BOOST_TEST((decode(node_room_broadcast, "/").result == outcome::ignored)); // another namespace

    auto a = decoded_message(unhex(node_binary_ack), "/");
    BOOST_TEST((a.type == kind::broadcast_ack));
    BOOST_TEST(a.is_response());
    BOOST_TEST(a.request_id == "aaaabbbbccccdddd");
    BOOST_REQUIRE(a.args.attachments.size() == 1u);

    auto q = decoded_message(node_broadcast_with_ack, "/");
    BOOST_TEST(q.request_id == "aaaabbbbccccdddd");
    BOOST_REQUIRE(q.opts.timeout.has_value());
    BOOST_TEST(q.opts.timeout->count() == 1000);
}

BOOST_AUTO_TEST_CASE(every_kind_round_trips) {
    std::vector<cluster_message> all;
    auto add = [&](kind k) -> cluster_message& {
        cluster_message m;
        m.type = k;
        m.uid = "fedcba9876543210";
        m.request_id = "0011223344556677";
        all.push_back(std::move(m));
        return all.back();
    };
    add(kind::sockets_join).rooms = {"a", "b"};
    add(kind::sockets_leave).rooms = {"a"};
    add(kind::disconnect_sockets).close = true;
    add(kind::fetch_sockets).opts.rooms = {"x"};
    {
        auto& f = add(kind::fetch_sockets_response);
        sio::socket_details s;
        s.id = "AAAAAAAAAAAAAAAAAAAA";
        s.rooms = {"AAAAAAAAAAAAAAAAAAAA", "x"};
        s.data = json::object{{"user", "ann"}};
        s.handshake.url = "/socket.io/?EIO=4";
        f.sockets.push_back(s);
    }
    {
        auto& e = add(kind::server_side_emit);
        e.event = "ping";
        e.args.values = json::array{1, "x"};
    }
    add(kind::server_side_emit_response).args.values = json::array{"pong"};
    add(kind::broadcast_client_count).client_count = 3;
    add(kind::broadcast_ack).args.values = json::array{json::object{{"ok", true}}};
    for (const auto how : {encoding::json, encoding::msgpack}) {
        for (const auto& m : all) {
            const auto payload = encoded(m, "/x", how);
            BOOST_TEST((how == encoding::json) == (payload.front() == '{'));
            const auto back = decoded_message(payload, "/x");
            BOOST_TEST(int(back.type) == int(m.type));
            BOOST_TEST(back.uid == m.uid);
            BOOST_TEST(back.rooms == m.rooms);
            BOOST_TEST(back.close == m.close);
            BOOST_TEST(back.opts.rooms == m.opts.rooms);
            BOOST_TEST(back.client_count == m.client_count);
            BOOST_TEST(back.event == m.event);
            if (m.type != kind::sockets_join && m.type != kind::sockets_leave &&
                m.type != kind::disconnect_sockets && m.type != kind::server_side_emit)
                BOOST_TEST(back.request_id == m.request_id);
            if (m.type == kind::server_side_emit_response || m.type == kind::broadcast_ack ||
                m.type == kind::server_side_emit)
                BOOST_TEST(json::serialize(back.args.values) == json::serialize(m.args.values));
            if (m.type == kind::fetch_sockets_response) {
                BOOST_REQUIRE(back.sockets.size() == 1u);
                BOOST_TEST(back.sockets[0].id == "AAAAAAAAAAAAAAAAAAAA");
                BOOST_TEST(back.sockets[0].rooms == m.sockets[0].rooms);
                BOOST_TEST(json::serialize(back.sockets[0].data) == R"({"user":"ann"})");
                BOOST_TEST(back.sockets[0].handshake.url == "/socket.io/?EIO=4");
            }
        }
    }
    // The join/leave/disconnect messages carry no request id (Node's shapes): only what is set.
    BOOST_TEST(encoded(all[0], "/x").find("requestId") == std::string::npos);
    cluster_message rooms;
    rooms.type = kind::all_rooms;
    std::string out;
    BOOST_TEST(!encode(rooms, "/", encoding::json, out)); // not in this protocol
}

BOOST_AUTO_TEST_CASE(node_picks_msgpack_only_for_binary_in_the_types_that_carry_it) {
    cluster_message e;
    e.type = kind::server_side_emit;
    e.uid = "u";
    e.event = "e";
    e.args.values = json::array{json::object{{"_placeholder", true}, {"num", 0}}};
    e.args.attachments = {"z"};
    BOOST_TEST(encoded(e, "/").front() != '{');
    e.args.values = json::array{1};
    e.args.attachments.clear();
    BOOST_TEST(encoded(e, "/").front() == '{');
    for (int t = 1; t <= 13; ++t)
        BOOST_TEST(may_carry_binary(t) == (t == 3 || t == 8 || t == 9 || t == 10 || t == 12));
    // Non-finite numbers are null in JSON, as JSON.stringify writes them.
    e.args.values = json::array{std::numeric_limits<double>::infinity()};
    BOOST_TEST(encoded(e, "/").find(R"("packet":["e",null])") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(heartbeats_and_close_are_ignored) {
    for (int t : {1, 2, 13}) {
        const auto payload = R"({"type":)" + std::to_string(t) + R"(,"uid":"x","nsp":"/"})";
        BOOST_TEST((decode(payload, "/").result == outcome::ignored));
    }
}

BOOST_AUTO_TEST_CASE(hostile_payloads_are_dropped) {
    const std::vector<std::string> bad = {
        "",
        "{",
        "not json",
        "\xc1",
        R"([1,2])",
        R"({"uid":"x","nsp":"/","data":{}})",            // no type
        R"({"type":"3","uid":"x","nsp":"/","data":{}})", // type not a number
        R"({"type":3.5,"uid":"x","nsp":"/","data":{}})",
        R"({"type":99,"uid":"x","nsp":"/","data":{}})", // unknown
        R"({"type":3,"nsp":"/","data":{}})",            // no uid
        R"({"type":3,"uid":7,"nsp":"/","data":{}})",
        R"({"type":3,"uid":"x","data":{}})", // no nsp
        R"({"type":3,"uid":"x","nsp":"/"})", // no data
        R"({"type":3,"uid":"x","nsp":"/","data":[]})",
        R"({"type":3,"uid":"x","nsp":"/","data":{"packet":{"data":[]},"opts":{}}})", // no event
        R"({"type":3,"uid":"x","nsp":"/","data":{"packet":{"data":["e"]},"opts":{"rooms":"r"}}})",
        R"({"type":4,"uid":"x","nsp":"/","data":{"opts":{},"rooms":[{}]}})",
        R"({"type":7,"uid":"x","nsp":"/","data":{"opts":{}}})",       // fetch without id
        R"({"type":8,"uid":"x","nsp":"/","data":{"requestId":"r"}})", // no sockets
        R"({"type":9,"uid":"x","nsp":"/","data":{"packet":"e"}})",
        R"({"type":10,"uid":"x","nsp":"/","data":{"packet":1}})", // response without id
        R"({"type":11,"uid":"x","nsp":"/","data":{"requestId":"r","clientCount":1e12}})",
        R"({"type":11,"uid":"x","nsp":"/","data":{"requestId":"r","clientCount":-1}})",
        R"({"type":11,"uid":"x","nsp":"/","data":{"requestId":"r"}})",
        std::string(100, '[') + std::string(100, ']'),
        "{" + std::string(10000, '['),
        unhex(node_binary_broadcast).substr(0, 40), // truncated msgpack
        "\xdd\xff\xff\xff\xff",                     // an array declaring 4 billion elements
    };
    for (const auto& p : bad) {
        const auto d = decode(p, "/");
        BOOST_TEST_INFO(p.substr(0, 80));
        BOOST_TEST((d.result == outcome::dropped));
        BOOST_TEST(std::string(d.why).size() > 0u);
    }
}

BOOST_AUTO_TEST_CASE(channels_per_subscription_mode) {
    using sio::redis_subscription_mode;
    using sio::redis_detail::sharded_channel_for;
    const std::string main = sio::redis_detail::sharded_main_channel("socket.io", "/");
    BOOST_TEST(main == "socket.io#/#");
    cluster_message m;
    m.type = kind::broadcast;
    m.opts.rooms = {"room1"};
    const std::string sid(20, 'A');
    BOOST_TEST(sharded_channel_for(m, main, redis_subscription_mode::dynamic) == "socket.io#/#room1#");
    BOOST_TEST(sharded_channel_for(m, main, redis_subscription_mode::dynamic_private) ==
               "socket.io#/#room1#");
    BOOST_TEST(sharded_channel_for(m, main, redis_subscription_mode::static_) == main);
    m.opts.rooms = {sid}; // a socket id: its own channel only in dynamic-private
    BOOST_TEST(sharded_channel_for(m, main, redis_subscription_mode::dynamic) == main);
    BOOST_TEST(sharded_channel_for(m, main, redis_subscription_mode::dynamic_private) == main + sid + "#");
    m.opts.rooms = {"a", "b"}; // several rooms, or none: the namespace's channel
    BOOST_TEST(sharded_channel_for(m, main, redis_subscription_mode::dynamic_private) == main);
    m.opts.rooms = {"room1"};
    m.request_id = "r"; // with acknowledgements: the namespace's channel
    BOOST_TEST(sharded_channel_for(m, main, redis_subscription_mode::dynamic) == main);
    m.request_id.clear();
    m.type = kind::sockets_join; // only broadcasts use room channels
    BOOST_TEST(sharded_channel_for(m, main, redis_subscription_mode::dynamic) == main);
}
