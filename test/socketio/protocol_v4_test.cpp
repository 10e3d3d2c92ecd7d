// The Socket.IO protocol v4 (socket.io-client 2.x over Engine.IO v3, served with `allow_eio3`): the pure
// helpers (namespace and query split, the query's auth, socket ids, the ERROR payload), then loopback
// sessions of a raw v3 WebSocket client byte for byte: the implicit connection to "/", CONNECT answers
// without payload, a namespace's query string as its auth, the v4 ERROR packet, DISCONNECT both ways, and
// a v5 client of the same server unchanged. Every client operation has a deadline; no sleeps.
#include <sio/sio.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

#include "socketio/protocol_v4.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;
namespace v4 = sio::detail::protocol_v4;

namespace {

std::string auth_text(std::string_view query) {
    auto auth = v4::query_auth(query);
    BOOST_REQUIRE(auth);
    return json::serialize(*auth);
}

/// A socket.io-client 2.x speaking raw Engine.IO v3 frames over a WebSocket.
class v3_client {
public:
    v3_client(net::io_context& ioc, std::uint16_t port, std::string_view query = {}) : ws_(ioc, port) {
        const auto r =
            ws_.request(upgrade_request("/socket.io/?EIO=3&transport=websocket" + std::string(query)));
        if (r.result_int() != 101)
            throw std::runtime_error("upgrade refused with " + std::to_string(r.result_int()));
        const std::string open = ws_.read_text();
        if (open.size() < 2 || open.front() != '0')
            throw std::runtime_error("expected an open packet, got " + open);
        sid_ = json::value_to<std::string>(json::parse(open.substr(1)).at("sid"));
    }
    const std::string& sid() const noexcept { return sid_; }
    void send(std::string_view packet) { ws_.send_text(packet); }
    std::string read() { return ws_.read_text(); }
    /// True when the server ends the connection (a close frame or the end of TCP) within the limit.
    bool closed() {
        for (;;) {
            auto f = ws_.read_frame();
            if (!f || f->opcode == op_close)
                return true;
        }
    }

private:
    test_client ws_;
    std::string sid_;
};

sio::server_options with_eio3() {
    sio::server_options o;
    o.engine.allow_eio3 = true;
    return o;
}

/// "/" and "/chat" record connections (with id and auth) and echo; "/secure" refuses token "bad" with
/// data and token "bare" with a message alone; "kick" disconnects the socket from the server side.
void install_v4(sio_server& srv) {
    for (const char* name : {"/", "/chat", "/secure"}) {
        auto nsp = srv.io().of(name);
        if (std::string_view(name) == "/secure")
            nsp.use([](sio::socket s) -> std::optional<sio::middleware_error> {
                const auto& auth = s.handshake().auth;
                if (auth.contains("bad"))
                    return sio::middleware_error{"unauthorized", json::object{{"reason", "bad token"}}};
                if (auth.contains("bare"))
                    return sio::middleware_error{"unauthorized", nullptr};
                return std::nullopt;
            });
        nsp.on_connection([&log = srv.log()](sio::socket s) {
            log.keep(s);
            log.add("connect " + s.nsp() + " " + s.id() + " " + json::serialize(s.handshake().auth));
            s.on("echo", [](sio::socket s, sio::event& ev) { s.emit_arguments("echo", ev.args); });
            s.on("kick", [](sio::socket s) { s.disconnect(); });
            s.on_disconnect([&log](sio::socket s, sio::disconnect_reason r) {
                log.add("disconnect " + s.nsp() + " " + std::string(sio::to_string(r)));
            });
        });
    }
}

} // namespace

BOOST_AUTO_TEST_CASE(split_takes_the_path_and_the_query) {
    BOOST_TEST(v4::split("/").name == "/");
    BOOST_TEST(v4::split("/").query.empty());
    BOOST_TEST(v4::split("/chat?token=abc").name == "/chat");
    BOOST_TEST(v4::split("/chat?token=abc").query == "token=abc");
    BOOST_TEST(v4::split("/chat?a=1#frag").query == "a=1");
    BOOST_TEST(v4::split("/chat#x?a=1").name == "/chat");
    BOOST_TEST(v4::split("/chat#x?a=1").query.empty());
    BOOST_TEST(v4::split("/?").name == "/");
}

BOOST_AUTO_TEST_CASE(query_auth_decodes_form_pairs_as_strings) {
    BOOST_TEST(auth_text("") == "{}");
    BOOST_TEST(auth_text("token=abc&n=1") == R"({"token":"abc","n":"1"})");
    BOOST_TEST(auth_text("a=1+2&b=%41%2b&c=%zz&d=%4") == R"({"a":"1 2","b":"A+","c":"%zz","d":"%4"})");
    BOOST_TEST(auth_text("flag&&=v&e=") == R"({"flag":"","":"v","e":""})");
    BOOST_TEST(auth_text("k=1&k=2") == R"({"k":"2"})"); // the later one wins
    BOOST_TEST(auth_text("x=a=b") == R"({"x":"a=b"})");
    BOOST_TEST(auth_text("u=%C3%A9") == R"({"u":"é"})");
    // Malformed UTF-8: one U+FFFD per maximal ill-formed subpart.
    BOOST_TEST(auth_text("u=%FF") == "{\"u\":\"\xEF\xBF\xBD\"}");
    BOOST_TEST(auth_text("u=%E2%82A") == "{\"u\":\"\xEF\xBF\xBD"
                                         "A\"}");
    BOOST_TEST(auth_text("u=%ED%A0%80") == "{\"u\":\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"}"); // a surrogate
    BOOST_TEST(auth_text("u=%F0%9F%98") == "{\"u\":\"\xEF\xBF\xBD\"}");                         // cut short
}

BOOST_AUTO_TEST_CASE(query_auth_caps_the_parameters) {
    std::string q;
    for (std::size_t i = 0; i < v4::max_query_parameters; ++i)
        q += "p" + std::to_string(i) + "=1&";
    BOOST_TEST(v4::query_auth(q).has_value());
    BOOST_TEST(v4::query_auth(q + "one=more").has_value() == false);
}

BOOST_AUTO_TEST_CASE(socket_ids_and_error_payloads_as_the_reference) {
    BOOST_TEST(v4::socket_id("/", "abc") == "abc");
    BOOST_TEST(v4::socket_id("/chat", "abc") == "/chat#abc");
    BOOST_TEST(json::serialize(v4::connect_error_data("m", nullptr)) == R"("m")");
    BOOST_TEST(json::serialize(v4::connect_error_data("m", json::object{{"a", 1}})) == R"({"a":1})");
    for (const auto falsy : {json::value(false), json::value(0), json::value(0.0), json::value("")})
        BOOST_TEST(json::serialize(v4::connect_error_data("m", falsy)) == R"("m")");
    BOOST_TEST(json::serialize(v4::connect_error_data("m", json::value(7))) == "7");
}

BOOST_AUTO_TEST_CASE(a_v3_client_joins_the_main_namespace_without_asking) {
    sio_server srv(with_eio3());
    install_v4(srv);
    srv.start();
    net::io_context ioc;
    v3_client c(ioc, srv.port(), "&token=q");
    BOOST_TEST(c.read() == "40"); // the CONNECT answer: no sid payload
    BOOST_TEST(srv.log().wait("connect / " + c.sid() + " {}"));
    c.send(R"(42["echo",1,"a"])");
    BOOST_TEST(c.read() == R"(42["echo",1,"a"])");
    // The Engine.IO query stays where Node keeps it: the handshake's query, not the auth.
    const auto s = srv.log().find_socket(c.sid());
    const auto& query = s.handshake().query;
    BOOST_TEST(std::count(query.begin(), query.end(), std::pair<std::string, std::string>{"token", "q"}) ==
               1);
}

BOOST_AUTO_TEST_CASE(a_namespace_query_string_is_the_auth) {
    sio_server srv(with_eio3());
    install_v4(srv);
    srv.start();
    net::io_context ioc;
    v3_client c(ioc, srv.port());
    BOOST_TEST(c.read() == "40");
    c.send("40/chat?token=abc&n=1+2,");
    BOOST_TEST(c.read() == "40/chat,");
    BOOST_TEST(srv.log().wait("connect /chat /chat#" + c.sid() + R"( {"token":"abc","n":"1 2"})"));
    c.send(R"(42/chat,["echo",{"x":true}])");
    BOOST_TEST(c.read() == R"(42/chat,["echo",{"x":true}])");
    c.send(R"(42/chat,7["echo"])"); // an event with an ack id; the namespace without its query
    BOOST_TEST(c.read() == R"(42/chat,["echo"])");
}

BOOST_AUTO_TEST_CASE(refusals_are_v4_error_packets) {
    sio_server srv(with_eio3());
    install_v4(srv);
    srv.start();
    net::io_context ioc;
    v3_client c(ioc, srv.port());
    BOOST_TEST(c.read() == "40");
    c.send("40/secure?bad=1,");
    BOOST_TEST(c.read() == R"(44/secure,{"reason":"bad token"})"); // the data alone
    c.send("40/secure?bare=1,");
    BOOST_TEST(c.read() == R"(44/secure,"unauthorized")"); // no data: the message as a string
    c.send("40/nowhere,");
    BOOST_TEST(c.read() == R"(44/nowhere,{"message":"Invalid namespace"})");
    c.send("40/secure?ok=1,");
    BOOST_TEST(c.read() == "40/secure,");
}

BOOST_AUTO_TEST_CASE(disconnect_packets_both_ways) {
    sio_server srv(with_eio3());
    install_v4(srv);
    srv.start();
    net::io_context ioc;
    v3_client c(ioc, srv.port());
    BOOST_TEST(c.read() == "40");
    c.send("40/chat,");
    BOOST_TEST(c.read() == "40/chat,");
    c.send("41/chat,");
    BOOST_TEST(srv.log().wait("disconnect /chat client namespace disconnect"));
    c.send(R"(42["kick"])");
    BOOST_TEST(c.read() == "41");
    BOOST_TEST(srv.log().wait("disconnect / server namespace disconnect"));
}

BOOST_AUTO_TEST_CASE(protocol_violations_close_the_connection) {
    sio_server srv(with_eio3());
    install_v4(srv);
    srv.start();
    net::io_context ioc;
    {
        v3_client c(ioc, srv.port());
        BOOST_TEST(c.read() == "40");
        c.send("40"); // "/" is joined already
        BOOST_TEST(c.closed());
    }
    {
        v3_client c(ioc, srv.port());
        BOOST_TEST(c.read() == "40");
        std::string q = "40/chat?";
        for (std::size_t i = 0; i <= v4::max_query_parameters; ++i)
            q += "p" + std::to_string(i) + "&";
        c.send(q + ",");
        BOOST_TEST(c.closed());
    }
}

BOOST_AUTO_TEST_CASE(a_v5_client_of_the_same_server_is_unchanged) {
    sio_server srv(with_eio3());
    install_v4(srv);
    srv.start();
    auto c = srv.client();
    const std::string id = c.connect("/chat", R"({"token":"t"})"); // the answer carries a sid
    BOOST_TEST(id.size() == 20u);
    BOOST_TEST(srv.log().wait("connect /chat " + id + R"( {"token":"t"})"));
    c.send("40/secure,{\"bare\":1}");
    BOOST_TEST(c.read() == R"(44/secure,{"message":"unauthorized"})");
}
