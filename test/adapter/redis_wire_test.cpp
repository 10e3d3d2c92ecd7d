// The wire format of the Redis adapter, with no Redis: channel names and routing, every cluster message
// encoded and decoded again, payloads as Node's @socket.io/redis-adapter and @socket.io/redis-emitter
// write them, the legacy request forms, and malformed payloads (dropped with a reason, or ignored).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "adapter/redis/wire.hpp"
#include "protocol/msgpack.hpp"

namespace json = boost::json;
using namespace sio::redis_detail;
using namespace sio::msgpack_detail;
using sio::cluster_message;
using kind = cluster_message::kind;
using outcome = decoded::outcome;

namespace {

const channel_names names("socket.io", "/chat", "ABCDEF");

struct published {
    std::string channel;
    std::string payload;
};

published request(const cluster_message& m) {
    published p;
    BOOST_REQUIRE(encode_request(m, names, "/chat", p.channel, p.payload));
    return p;
}

published response(const cluster_message& m, bool specific = false) {
    published p;
    BOOST_REQUIRE(encode_response("XYZ123", m, names, specific, p.channel, p.payload));
    return p;
}

/// The payload as JSON text (msgpack decoded first unless it is JSON already).
std::string text(const std::string& payload) {
    if (!payload.empty() && payload.front() == '{')
        return payload;
    json::value v;
    std::vector<std::string> attachments;
    BOOST_REQUIRE(!msgpack_decode(payload, v, attachments));
    return json::serialize(v);
}

cluster_message event(kind type, std::string request_id = {}) {
    cluster_message m;
    m.type = type;
    m.uid = "ABCDEF";
    m.request_id = std::move(request_id);
    m.event = "hello";
    m.args.values = json::array{1, "two"};
    return m;
}

std::string msgpack(const json::value& v, const std::vector<std::string>& attachments = {}) {
    std::string out;
    msgpack_encode(v, attachments, out);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(channels)

BOOST_AUTO_TEST_CASE(names_of_a_namespace) {
    BOOST_TEST(names.broadcast == "socket.io#/chat#");
    BOOST_TEST(names.request == "socket.io-request#/chat#");
    BOOST_TEST(names.response == "socket.io-response#/chat#");
    BOOST_TEST(names.own_response == "socket.io-response#/chat#ABCDEF#");
    BOOST_TEST(names.response_for("XYZ123", true) == "socket.io-response#/chat#XYZ123#");
    BOOST_TEST(names.response_for("XYZ123", false) == "socket.io-response#/chat#");
}

BOOST_AUTO_TEST_CASE(classify) {
    using k = channel_names::kind;
    BOOST_TEST((names.classify("socket.io-request#/chat#") == k::request));
    BOOST_TEST((names.classify("socket.io-request#/chat#x") == k::none)); // requests have one channel
    BOOST_TEST((names.classify("socket.io-response#/chat#") == k::response));
    BOOST_TEST((names.classify("socket.io-response#/chat#XYZ#") == k::response));
    BOOST_TEST((names.classify("socket.io#/chat#") == k::broadcast));
    BOOST_TEST((names.classify("socket.io#/chat#room#") == k::broadcast));
    BOOST_TEST((names.classify("other#/chat#") == k::none));
    BOOST_TEST(names.response_is_ours("socket.io-response#/chat#"));
    BOOST_TEST(names.response_is_ours("socket.io-response#/chat#ABCDEF#"));
    BOOST_TEST(!names.response_is_ours("socket.io-response#/chat#XYZ123#"));
}

BOOST_AUTO_TEST_CASE(namespace_of_a_channel) {
    BOOST_TEST((after_key("socket.io", "socket.io#/chat#r#") == std::string_view("/chat#r#")));
    BOOST_TEST((after_key("socket.io", "socket.io-request#/chat#") == std::string_view("/chat#")));
    BOOST_TEST((after_key("socket.io", "socket.io-response#/chat#A#") == std::string_view("/chat#A#")));
    BOOST_TEST(!after_key("socket.io", "other#/chat#"));
    BOOST_TEST(on_namespace("/chat#r#", "/chat"));
    BOOST_TEST(!on_namespace("/chatroom#", "/chat"));
    BOOST_TEST(!on_namespace("/chat", "/chat"));
    BOOST_TEST(on_namespace("/#", "/"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(encoding)

BOOST_AUTO_TEST_CASE(broadcasts) {
    auto m = event(kind::broadcast);
    m.opts.rooms = {"r1"};
    m.opts.except = {"x"};
    m.opts.volatile_ = true;
    auto p = request(m);
    BOOST_TEST(p.channel == "socket.io#/chat#r1#"); // a single room has its own channel
    BOOST_TEST(text(p.payload) == R"(["ABCDEF",{"type":2,"data":["hello",1,"two"],"nsp":"/chat"},)"
                                  R"({"rooms":["r1"],"except":["x"],"flags":{"volatile":true}}])");
    m.opts.rooms = {"r1", "r2"};
    BOOST_TEST(request(m).channel == "socket.io#/chat#");
    // With acknowledgements: a request.
    m.request_id = "req1";
    p = request(m);
    BOOST_TEST(p.channel == "socket.io-request#/chat#");
    BOOST_TEST(text(p.payload) ==
               R"({"uid":"ABCDEF","requestId":"req1","type":7,"packet":{"type":2,"data":["hello",1,"two"],)"
               R"("nsp":"/chat"},"opts":{"rooms":["r1","r2"],"except":["x"],"flags":{"volatile":true}}})");
}

BOOST_AUTO_TEST_CASE(requests) {
    cluster_message m;
    m.uid = "ABCDEF";
    m.type = kind::sockets_join;
    m.opts.rooms = {"a"};
    m.rooms = {"b"};
    BOOST_TEST(request(m).payload ==
               R"({"uid":"ABCDEF","type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b"]})");
    m.type = kind::disconnect_sockets;
    m.close = true;
    BOOST_TEST(request(m).payload ==
               R"({"uid":"ABCDEF","type":4,"opts":{"rooms":["a"],"except":[]},"close":true})");
    m.type = kind::fetch_sockets;
    m.request_id = "q";
    BOOST_TEST(request(m).payload ==
               R"({"uid":"ABCDEF","requestId":"q","type":5,"opts":{"rooms":["a"],"except":[]}})");
    m.type = kind::all_rooms;
    BOOST_TEST(request(m).payload == R"({"uid":"ABCDEF","requestId":"q","type":1})");
    auto e = event(kind::server_side_emit);
    BOOST_TEST(request(e).payload == R"({"uid":"ABCDEF","type":6,"data":["hello",1,"two"]})");
    // Binary switches to msgpack.
    e.args.values = json::array{json::object{{"_placeholder", true}, {"num", 0}}};
    e.args.attachments = {"\x01\x02"};
    const auto bin = request(e).payload;
    BOOST_TEST(bin.front() != '{');
    const auto back = decode_request(bin);
    BOOST_REQUIRE((back.result == outcome::message));
    BOOST_TEST(back.message.args.attachments == e.args.attachments);
    // Responses are not requests.
    std::string channel, payload;
    m.type = kind::all_rooms_response;
    BOOST_TEST(!encode_request(m, names, "/chat", channel, payload));
}

BOOST_AUTO_TEST_CASE(responses) {
    cluster_message m;
    m.request_id = "q";
    m.type = kind::all_rooms_response;
    m.rooms = {"a", "b"};
    auto p = response(m);
    BOOST_TEST(p.channel == "socket.io-response#/chat#");
    BOOST_TEST(p.payload == R"({"requestId":"q","rooms":["a","b"]})");
    BOOST_TEST(response(m, true).channel == "socket.io-response#/chat#XYZ123#");
    m.type = kind::broadcast_client_count;
    m.client_count = 3;
    BOOST_TEST(response(m).payload == R"({"type":8,"requestId":"q","clientCount":3})");
    m.type = kind::server_side_emit_response;
    m.args.values = json::array{"ok", "ignored"}; // one value per server travels
    p = response(m, true);
    BOOST_TEST(p.channel == "socket.io-response#/chat#"); // always the shared channel
    BOOST_TEST(p.payload == R"({"type":6,"requestId":"q","data":"ok"})");
    m.type = kind::broadcast_ack;
    BOOST_TEST(text(response(m).payload) == R"({"type":9,"requestId":"q","packet":"ok"})");
    std::string channel, payload;
    m.type = kind::fetch_sockets;
    BOOST_TEST(!encode_response("XYZ123", m, names, false, channel, payload));
}

BOOST_AUTO_TEST_CASE(legacy_answers) {
    BOOST_TEST(encode_sockets_answer("q", {"s1", "s2"}) == R"({"requestId":"q","sockets":["s1","s2"]})");
    BOOST_TEST(encode_legacy_answer("q") == R"({"requestId":"q"})");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(decoding)

BOOST_AUTO_TEST_CASE(every_kind_round_trips) {
    auto b = event(kind::broadcast);
    b.opts.rooms = {"r"};
    b.opts.timeout = std::chrono::milliseconds(250);
    b.opts.compress = false;
    const auto d = decode_broadcast(request(b).payload, "/chat");
    BOOST_REQUIRE((d.result == outcome::message));
    BOOST_TEST((d.message.type == kind::broadcast));
    BOOST_TEST(d.message.uid == "ABCDEF");
    BOOST_TEST(d.message.event == "hello");
    BOOST_TEST(json::serialize(d.message.args.values) == R"([1,"two"])");
    BOOST_TEST(d.message.opts.rooms == std::vector<std::string>{"r"});
    BOOST_TEST(!d.message.opts.compress);
    BOOST_TEST(d.message.opts.timeout->count() == 250);

    const kind requests[] = {kind::sockets_join,  kind::sockets_leave, kind::disconnect_sockets,
                             kind::fetch_sockets, kind::all_rooms,     kind::server_side_emit,
                             kind::broadcast};
    for (const kind k : requests) {
        BOOST_TEST_CONTEXT("kind " << static_cast<int>(k)) {
            auto m = event(k, "req");
            m.rooms = {"b"};
            m.opts.rooms = {"a"};
            const auto r = decode_request(request(m).payload);
            BOOST_REQUIRE((r.result == outcome::message));
            BOOST_TEST((r.message.type == k));
            BOOST_TEST(r.message.uid == "ABCDEF");
            if (k != kind::all_rooms && k != kind::server_side_emit) // these carry no options
                BOOST_TEST(r.message.opts.rooms == m.opts.rooms);
            if (k == kind::server_side_emit || k == kind::broadcast)
                BOOST_TEST(r.message.event == "hello");
            BOOST_TEST(!r.answer_legacy);
        }
    }

    cluster_message f;
    f.type = kind::fetch_sockets_response;
    f.request_id = "q";
    sio::socket_details s;
    s.id = "sock1";
    s.rooms = {"sock1", "r"};
    s.data = json::object{{"user", 7}};
    s.handshake.address = "127.0.0.1";
    s.handshake.headers.add("Host", "example");
    s.handshake.query = {{"EIO", "4"}};
    f.sockets.push_back(s);
    const auto r = decode_response(response(f).payload);
    BOOST_REQUIRE((r.result == outcome::message));
    BOOST_REQUIRE(r.message.sockets.size() == 1u);
    const auto& got = r.message.sockets.front();
    BOOST_TEST(got.id == "sock1");
    BOOST_TEST(got.rooms == s.rooms);
    BOOST_TEST(json::serialize(got.data) == R"({"user":7})");
    BOOST_TEST(got.handshake.address == "127.0.0.1");
    BOOST_TEST(got.handshake.query.size() == 1u);
    BOOST_TEST(got.handshake.headers.fields().size() == 1u);
}

BOOST_AUTO_TEST_CASE(as_node_writes_them) {
    // A broadcast from the emitter: no uid, numeric room, packet without nsp (for "/").
    const auto e = decode_broadcast(msgpack(json::parse(R"([null,{"type":2,"data":["ev",{"a":1}]},)"
                                                        R"({"rooms":[42],"except":[]}])")),
                                    "/");
    BOOST_REQUIRE((e.result == outcome::message));
    BOOST_TEST(e.message.uid == "emitter");
    BOOST_TEST(e.message.opts.rooms == std::vector<std::string>{"42"});
    // Another namespace's broadcast is ignored.
    BOOST_TEST(
        (decode_broadcast(msgpack(json::parse(R"(["u",{"type":2,"data":["ev"],"nsp":"/x"}])")), "/chat")
             .result == outcome::ignored));
    // A join from the emitter.
    const auto j = decode_request(R"({"type":2,"opts":{"rooms":["a"],"except":["b"]},"rooms":["c"]})");
    BOOST_REQUIRE((j.result == outcome::message));
    BOOST_TEST(j.message.uid == "emitter");
    BOOST_TEST(j.message.opts.except == std::vector<std::string>{"b"});
    // A client count and a broadcast ack, as Node's adapter answers.
    const auto c = decode_response(R"({"type":8,"requestId":"q","clientCount":2})");
    BOOST_REQUIRE((c.result == outcome::message));
    BOOST_TEST(c.message.client_count == 2u);
    const auto a = decode_response(msgpack(
        json::parse(R"({"type":9,"requestId":"q","packet":[{"_placeholder":true,"num":0}]})"), {"bin"}));
    BOOST_REQUIRE((a.result == outcome::message));
    BOOST_TEST((a.message.type == kind::broadcast_ack));
    BOOST_TEST(a.message.args.attachments == std::vector<std::string>{"bin"});
}

BOOST_AUTO_TEST_CASE(legacy_forms) {
    const auto j = decode_request(R"({"uid":"N","requestId":"q","type":2,"sid":"s1","room":"r"})");
    BOOST_REQUIRE((j.result == outcome::message));
    BOOST_TEST(j.answer_legacy);
    BOOST_TEST(j.message.opts.rooms == std::vector<std::string>{"s1"});
    BOOST_TEST(j.message.rooms == std::vector<std::string>{"r"});
    BOOST_TEST((decode_request(R"({"uid":"N","type":3,"sid":"s1"})").result == outcome::ignored)); // no room
    const auto d = decode_request(R"({"uid":"N","requestId":"q","type":4,"sid":"s1","close":true})");
    BOOST_REQUIRE((d.result == outcome::message));
    BOOST_TEST(d.answer_legacy);
    BOOST_TEST(d.message.close);
    const auto s = decode_request(R"({"uid":"N","requestId":"q","type":0,"rooms":["r"]})");
    BOOST_REQUIRE((s.result == outcome::sockets_query));
    BOOST_TEST(s.message.rooms == std::vector<std::string>{"r"});
    // A legacy sockets answer (ids only) is not a fetch answer.
    const auto ids = decode_response(R"({"requestId":"q","sockets":["s1"]})");
    BOOST_TEST((ids.result == outcome::ignored));
}

BOOST_AUTO_TEST_CASE(malformed) {
    struct row {
        std::string payload;
        std::string why;
    };
    const row requests[] = {
        {"{not json", "request does not parse"},
        {"[1]", "request does not parse"}, // not msgpack either
        {R"([1])", "request does not parse"},
        {R"({"uid":"x"})", "request without a type"},
        {R"({"type":"2"})", "request without a type"},
        {R"({"type":2,"opts":[]})", "malformed request"},
        {R"({"type":2,"rooms":[{}]})", "malformed rooms"},
        {R"({"type":6,"data":[]})", "malformed server-side event"},
        {R"({"type":7,"packet":{"data":["e"]}})", "malformed broadcast request"}, // no requestId
        {R"({"type":99})", "unknown request type"},
    };
    for (const auto& r : requests) {
        BOOST_TEST_CONTEXT(r.payload) {
            const auto d = decode_request(r.payload);
            BOOST_TEST((d.result == outcome::dropped));
            BOOST_TEST(std::string(d.why) == r.why);
        }
    }
    BOOST_TEST(std::string(decode_broadcast("\xc1", "/").why) == "not a broadcast message");
    BOOST_TEST(std::string(decode_broadcast(msgpack(json::parse(R"(["u",1])")), "/").why) ==
               "packet is not an object");
    BOOST_TEST(std::string(decode_broadcast(msgpack(json::parse(R"(["u",{"data":5}])")), "/").why) ==
               "malformed packet or options");
    BOOST_TEST(std::string(decode_response("{").why) == "response does not parse");
    BOOST_TEST((decode_response(R"({"rooms":[]})").result == outcome::ignored));               // no requestId
    BOOST_TEST((decode_response(R"({"requestId":"q","type":8})").result == outcome::ignored)); // no count
    BOOST_TEST(
        (decode_response(R"({"requestId":"q","type":8,"clientCount":1e9})").result == outcome::ignored));
}

BOOST_AUTO_TEST_SUITE_END()
