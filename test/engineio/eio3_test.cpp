// Loopback tests of the Engine.IO v3 protocol served with `engine_options::allow_eio3`: the option's
// default, the v3 handshake, the length-prefixed polling payloads (text, base64 and binary bodies), the
// heartbeat in the v3 direction (the client pings), WebSocket frames with the type byte, the upgrade, and
// malformed v3 input. The server runs on its own thread; the heartbeat cases move a manual clock. No sleeps.
#include <sio/engineio/server.hpp>
#include <sio/engineio/session.hpp>
#include <sio/error.hpp>
#include <sio/options.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/loopback_client.hpp"
#include "support/manual_time.hpp"

namespace eio = sio::engineio;
using namespace sio_test;
using namespace std::string_literals;

namespace {

std::string v3_polling(std::string_view sid = {}, std::string_view extra = {}) {
    std::string t = "/engine.io/?EIO=3&transport=polling";
    if (!sid.empty())
        t += "&sid=" + std::string(sid);
    return t + std::string(extra);
}
std::string v3_websocket(std::string_view sid = {}) {
    std::string t = "/engine.io/?EIO=3&transport=websocket";
    if (!sid.empty())
        t += "&sid=" + std::string(sid);
    return t;
}
http_request binary_post(std::string target, std::string body) {
    auto r = post_request(std::move(target), std::move(body));
    r.set(http::field::content_type, "application/octet-stream");
    return r;
}

/// An Engine.IO server on its own thread that records sessions, messages and closes.
class v3_server {
public:
    explicit v3_server(sio::engine_options o = with_eio3(), std::function<void(eio::server&)> configure = {})
        : work_(net::make_work_guard(sioc_)) {
        engine_ = std::make_unique<eio::server>(sioc_.get_executor(), std::move(o));
        engine_->on_connection([this](eio::session s) {
            const std::string id = s.id();
            s.on_message([this, id](eio::message&& m) {
                std::lock_guard lock(mutex_);
                messages_[id].push_back(std::move(m));
                cv_.notify_all();
            });
            s.on_close([this, id](eio::close_reason r, std::string_view d) {
                std::lock_guard lock(mutex_);
                closes_[id] = {r, std::string(d)};
                cv_.notify_all();
            });
            std::lock_guard lock(mutex_);
            sessions_[id] = s;
            cv_.notify_all();
        });
        if (configure)
            configure(*engine_);
        if (const auto ec = engine_->listen("127.0.0.1", 0))
            throw std::system_error(ec, "listen");
        port_ = engine_->local_port();
        thread_ = std::thread([this] { sioc_.run(); });
    }
    ~v3_server() {
        engine_->close();
        sioc_.stop();
        thread_.join();
        sessions_.clear();
    }
    static sio::engine_options with_eio3() {
        sio::engine_options o;
        o.allow_eio3 = true;
        return o;
    }

    test_client connect() { return test_client(client_ioc_, port_); }

    /// A v3 polling handshake: the session id; `open` gets the open packet's JSON.
    std::string open_polling(test_client& c, std::string_view extra = {}, json::value* open = nullptr) {
        const auto r = c.request(get_request(v3_polling({}, extra)));
        BOOST_TEST_REQUIRE(r.result_int() == 200);
        const std::string& body = r.body();
        const auto colon = body.find(':');
        BOOST_TEST_REQUIRE(colon != std::string::npos);
        BOOST_TEST_REQUIRE(body.substr(colon + 1, 1) == "0");
        BOOST_TEST(std::stoul(body.substr(0, colon)) == body.size() - colon - 1); // ASCII: bytes = units
        const auto parsed = json::parse(body.substr(colon + 2));
        if (open)
            *open = parsed;
        return std::string(parsed.at("sid").as_string());
    }
    std::string open_websocket(test_client& ws) {
        BOOST_TEST_REQUIRE(ws.request(upgrade_request(v3_websocket())).result_int() == 101);
        const std::string open = ws.read_text();
        BOOST_TEST_REQUIRE(open.substr(0, 1) == "0");
        return std::string(json::parse(open.substr(1)).at("sid").as_string());
    }

    eio::session session(const std::string& sid) {
        std::unique_lock lock(mutex_);
        BOOST_TEST_REQUIRE(cv_.wait_for(lock, io_limit, [&] { return sessions_.count(sid) > 0; }));
        return sessions_.at(sid);
    }
    /// The messages of `sid` once there are `n`, as "t:text|" / "b:bytes|".
    std::string messages(const std::string& sid, std::size_t n) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, io_limit, [&] { return messages_[sid].size() >= n; });
        std::string out;
        for (const auto& m : messages_[sid])
            out += (m.binary ? "b:" : "t:") + m.data + "|";
        return out;
    }
    std::optional<std::pair<eio::close_reason, std::string>> wait_closed(const std::string& sid,
                                                                         duration limit = io_limit) {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, limit, [&] { return closes_.count(sid) > 0; }))
            return std::nullopt;
        return closes_.at(sid);
    }
    bool is_closed(const std::string& sid) {
        std::lock_guard lock(mutex_);
        return closes_.count(sid) > 0;
    }
    void expect_closed(const std::string& sid, eio::close_reason reason, std::string_view description) {
        const auto c = wait_closed(sid);
        BOOST_TEST_REQUIRE(c.has_value(), "session " << sid << " did not close");
        BOOST_TEST((c->first == reason));
        BOOST_TEST(c->second == description);
    }

private:
    net::io_context sioc_;
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::unique_ptr<eio::server> engine_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::map<std::string, eio::session> sessions_;
    std::map<std::string, std::vector<eio::message>> messages_;
    std::map<std::string, std::pair<eio::close_reason, std::string>> closes_;
    net::io_context client_ioc_;
};

void check_code(const http_response& r, int code) {
    BOOST_TEST(r.result_int() == 400u);
    BOOST_TEST(json::parse(r.body()).at("code").as_int64() == code);
}

} // namespace

BOOST_AUTO_TEST_CASE(v3_is_refused_unless_allowed) {
    v3_server off(sio::engine_options{});
    auto c = off.connect();
    check_code(c.request(get_request(v3_polling())), 5);
    // Allowed: like the reference, a request that does not say EIO=4 is v3 (EIO missing included).
    v3_server on;
    auto d = on.connect();
    const auto r = d.request(get_request("/engine.io/?transport=polling"));
    BOOST_TEST(r.result_int() == 200u);
    BOOST_TEST(r.body().find(":0{") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(handshake_sends_the_open_packet_in_a_v3_payload) {
    v3_server ts;
    auto c = ts.connect();
    json::value open;
    const std::string sid = ts.open_polling(c, {}, &open);
    BOOST_TEST(open.at("upgrades").as_array().size() == 1u);
    BOOST_TEST(open.at("pingInterval").as_int64() == 25000);
    BOOST_TEST(open.at("pingTimeout").as_int64() == 20000);
    BOOST_TEST(open.at("maxPayload").as_int64() == 1000000);
    BOOST_TEST(ts.session(sid).protocol() == 3);
    // A v4 request on a v3 session is refused (reference: PROTOCOL_MISMATCH, code 3).
    check_code(c.request(get_request(polling_target(sid))), 3);
}

BOOST_AUTO_TEST_CASE(polling_messages_both_ways) {
    v3_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    // Lengths in UTF-16 units: "é" is one, "😀" two.
    BOOST_TEST(c.request(post_request(v3_polling(sid), "6:4hello4:4\xc3\xa9\xf0\x9f\x98\x80")).body() ==
               "ok");
    BOOST_TEST(ts.messages(sid, 2) == "t:hello|t:\xc3\xa9\xf0\x9f\x98\x80|");
    BOOST_TEST(!ts.session(sid).send("h\xc3\xa9"));
    BOOST_TEST(!ts.session(sid).send("x"));
    const auto r = c.request(get_request(v3_polling(sid)));
    BOOST_TEST(r.body() == "3:4h\xc3\xa9"
                           "2:4x");
    BOOST_TEST(r[http::field::content_type] == "text/plain; charset=UTF-8");
}

BOOST_AUTO_TEST_CASE(binary_goes_as_a_binary_payload_unless_base64_is_asked) {
    v3_server ts;
    {
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        BOOST_TEST(!ts.session(sid).send("t"));
        BOOST_TEST(!ts.session(sid).send(std::make_shared<const std::string>("\x01\x02"s), {.binary = true}));
        const auto r = c.request(get_request(v3_polling(sid)));
        BOOST_TEST(r[http::field::content_type] == "application/octet-stream");
        BOOST_TEST(r.body() == "\x00\x02\xff"
                               "4t"
                               "\x01\x03\xff\x04\x01\x02"s);
        // The client's binary POST: a text record and a binary one.
        const auto p = c.request(binary_post(v3_polling(sid), "\x00\x02\xff"
                                                              "4a"
                                                              "\x01\x02\xff\x04\x07"s));
        BOOST_TEST(p.result_int() == 200u);
        BOOST_TEST(ts.messages(sid, 2) == "t:a|b:\x07|");
    }
    {
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c, "&b64=1");
        BOOST_TEST(!ts.session(sid).send(std::make_shared<const std::string>("\x01\x02"s), {.binary = true}));
        const auto r = c.request(get_request(v3_polling(sid, "&b64=1")));
        BOOST_TEST(r[http::field::content_type] == "text/plain; charset=UTF-8");
        BOOST_TEST(r.body() == "6:b4AQI=");
        BOOST_TEST(c.request(post_request(v3_polling(sid, "&b64=1"), "6:b4AQI=")).result_int() == 200u);
        BOOST_TEST(ts.messages(sid, 1) == "b:\x01\x02|");
    }
}

BOOST_AUTO_TEST_CASE(malformed_v3_payloads_close_the_session) {
    v3_server ts;
    for (const std::string body : {"5:4hello"s, "4hello"s, "99999999999:4"s, "1:4\xf0\x9f\x98\x80"s}) {
        BOOST_TEST_CONTEXT(body) {
            auto c = ts.connect();
            const std::string sid = ts.open_polling(c);
            BOOST_TEST(c.request(post_request(v3_polling(sid), body)).result_int() == 400u);
            ts.expect_closed(sid, eio::close_reason::parse_error, "parse error");
        }
    }
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    BOOST_TEST(c.request(binary_post(v3_polling(sid), "\x00\x09\x09\xff"
                                                      "4a"s))
                   .result_int() == 400u);
    ts.expect_closed(sid, eio::close_reason::parse_error, "parse error");
}

BOOST_AUTO_TEST_CASE(the_client_pings_and_the_server_answers) {
    const auto clock = std::make_shared<manual_clock>();
    sio::engine_options o = v3_server::with_eio3();
    o.ping_interval = 100ms;
    o.ping_timeout = 50ms;
    v3_server ts(o, on_clock(clock));
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    // The server never pings: past the interval, a GET finds nothing (it parks until the message below).
    clock->advance(120ms);
    BOOST_TEST(!ts.is_closed(sid));
    BOOST_TEST(c.request(post_request(v3_polling(sid), "1:2")).result_int() == 200u);
    BOOST_TEST(c.request(get_request(v3_polling(sid))).body() == "1:3");
    // The ping moved the deadline: interval + timeout after it.
    clock->advance(140ms);
    BOOST_TEST(!ts.is_closed(sid));
    clock->advance(20ms);
    ts.expect_closed(sid, eio::close_reason::ping_timeout, "ping timeout");
}

BOOST_AUTO_TEST_CASE(a_pong_from_a_v3_client_is_the_wrong_direction) {
    v3_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    c.request(post_request(v3_polling(sid), "1:3"));
    ts.expect_closed(sid, eio::close_reason::transport_error, "invalid heartbeat direction");
}

BOOST_AUTO_TEST_CASE(websocket_frames_carry_the_type_byte_for_binary) {
    v3_server ts;
    auto ws = ts.connect();
    const std::string sid = ts.open_websocket(ws);
    ws.send_text("2");
    BOOST_TEST(ws.read_text() == "3");
    ws.send_frame(op_binary, "\x04\x01\x02"s);
    ws.send_text("4hi");
    BOOST_TEST(ts.messages(sid, 2) == "b:\x01\x02|t:hi|");
    BOOST_TEST(!ts.session(sid).send(std::make_shared<const std::string>("\x09"s), {.binary = true}));
    const auto f = ws.read_frame();
    BOOST_TEST_REQUIRE(f.has_value());
    BOOST_TEST(f->opcode == op_binary);
    BOOST_TEST(f->data == "\x04\x09"s);
    ws.send_frame(op_binary, "\x09"s); // no such type
    ts.expect_closed(sid, eio::close_reason::parse_error, "invalid packet");
}

BOOST_AUTO_TEST_CASE(upgrade_from_polling) {
    v3_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    auto ws = ts.connect();
    BOOST_TEST_REQUIRE(ws.request(upgrade_request(v3_websocket(sid))).result_int() == 101);
    ws.send_text("2probe");
    BOOST_TEST(ws.read_text() == "3probe");
    BOOST_TEST(c.request(get_request(v3_polling(sid))).body() == "1:6"); // the noop that ends polling
    ws.send_text("5");
    ws.send_text("4up");
    BOOST_TEST(ts.messages(sid, 1) == "t:up|");
    BOOST_TEST((ts.session(sid).transport() == eio::transport_kind::websocket));
    BOOST_TEST(!ts.session(sid).send("down"));
    BOOST_TEST(ws.read_text() == "4down");
}
