// Loopback tests of the Engine.IO server against hostile and malformed input (the Engine.IO sections of
// docs/hostile-input.md), plus the server hooks and options (connection_error, headers events,
// allow_request, generate_id, clients_count, cookie, CORS, HTTP compression, limits, queue overflow).
//
// The server runs on its own io_context in a background thread. The test thread drives the clients on a
// second io_context: every client operation is bounded (a deadline on the stream and on the loop), and
// server-side events (messages, closes, refusals) are waited for on a condition variable with a timeout.
// No sleep is used as synchronisation. The heartbeat and upgrade-timeout cases run the server on a clock
// the test moves (support/manual_time.hpp).
//
// HTTP requests and WebSocket frames are written byte for byte (Beast's HTTP serializer for well-formed
// requests, hand-built frames for the malformed ones) so that each test sends exactly the input it names.
#include <sio/engineio/server.hpp>
#include <sio/engineio/session.hpp>
#include <sio/error.hpp>
#include <sio/options.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "support/loopback_client.hpp"
#include "support/manual_time.hpp"
#include <malloc.h>
#include <zlib.h>

namespace eio = sio::engineio;
using namespace sio_test;
namespace websocket = boost::beast::websocket;

namespace sio::engineio {
std::ostream& operator<<(std::ostream& os, close_reason r) {
    return os << to_string(r);
}
std::ostream& operator<<(std::ostream& os, connection_error_code c) {
    return os << static_cast<int>(c);
}
std::ostream& operator<<(std::ostream& os, transport_kind t) {
    return os << (t == transport_kind::polling ? "polling" : "websocket");
}
} // namespace sio::engineio

namespace {

// --- wire helpers --------------------------------------------------------------------------------------

constexpr char rs = '\x1e'; // the payload record separator

/// Joins packets into a polling payload.
std::string payload(std::initializer_list<std::string_view> packets) {
    std::string out;
    bool first = true;
    for (auto p : packets) {
        if (!first)
            out.push_back(rs);
        first = false;
        out.append(p);
    }
    return out;
}

// --- the server under test -----------------------------------------------------------------------------

struct close_event {
    eio::close_reason reason;
    std::string description;
};

class test_server {
public:
    explicit test_server(sio::engine_options options = {}, std::function<void(eio::server&)> configure = {},
                         std::function<void(eio::session)> on_session = {})
        : work_(net::make_work_guard(sioc_)), on_session_(std::move(on_session)) {
        engine_ = std::make_unique<eio::server>(sioc_.get_executor(), std::move(options));
        engine_->on_connection([this](eio::session s) {
            const std::string id = s.id();
            s.on_message([this, id](eio::message&& m) {
                std::lock_guard lock(mutex_);
                messages_.emplace_back(id, std::move(m));
                cv_.notify_all();
            });
            s.on_close([this, id](eio::close_reason r, std::string_view d) {
                std::lock_guard lock(mutex_);
                closes_[id] = close_event{r, std::string(d)};
                cv_.notify_all();
            });
            if (on_session_)
                on_session_(s);
            std::lock_guard lock(mutex_);
            sessions_[id] = s;
            cv_.notify_all();
        });
        engine_->on_connection_error([this](const eio::connection_error& e) {
            std::lock_guard lock(mutex_);
            errors_.push_back(e);
            cv_.notify_all();
        });
        if (configure)
            configure(*engine_);
        if (const auto ec = engine_->listen("127.0.0.1", 0))
            throw std::system_error(ec, "listen");
        port_ = engine_->local_port();
        thread_ = std::thread([this] { sioc_.run(); });
    }

    ~test_server() {
        engine_->close();
        sioc_.stop();
        thread_.join();
        std::lock_guard lock(mutex_);
        sessions_.clear();
    }

    eio::server& engine() { return *engine_; }
    /// Returns once the server's loop has run what was queued before (bounded).
    void sync() {
        std::promise<void> done;
        auto f = done.get_future();
        net::post(sioc_, [&done] { done.set_value(); });
        BOOST_TEST_REQUIRE((f.wait_for(io_limit) == std::future_status::ready));
    }
    /// Drops the session handles the server keeps (they keep their sessions alive) and what it recorded.
    void forget_sessions() {
        std::lock_guard lock(mutex_);
        sessions_.clear();
        closes_.clear();
        messages_.clear();
    }
    std::uint16_t port() const { return port_; }
    net::io_context& io() { return client_ioc_; }
    test_client connect() { return test_client(client_ioc_, port_); }

    /// A polling handshake on `c`: the session id.
    std::string open_polling(test_client& c, std::string target = polling_target()) {
        const auto r = c.request(get_request(std::move(target)));
        BOOST_TEST_REQUIRE(r.result_int() == 200);
        BOOST_TEST_REQUIRE(r.body().size() > 1);
        BOOST_TEST_REQUIRE(r.body().front() == '0');
        return std::string(json::parse(r.body().substr(1)).at("sid").as_string());
    }

    /// A WebSocket handshake (no polling) on `c`: the session id, read from the open packet.
    std::string open_websocket(test_client& c) {
        const auto r = c.request(upgrade_request(websocket_target()));
        BOOST_TEST_REQUIRE(r.result_int() == 101);
        const std::string open = c.read_text();
        BOOST_TEST_REQUIRE(open.size() > 1);
        BOOST_TEST_REQUIRE(open.front() == '0');
        return std::string(json::parse(open.substr(1)).at("sid").as_string());
    }

    /// Upgrades polling session `sid` on a new connection `ws` (probe, then `5`).
    void upgrade(test_client& ws, const std::string& sid) {
        const auto r = ws.request(upgrade_request(websocket_target(sid)));
        BOOST_TEST_REQUIRE(r.result_int() == 101);
        ws.send_text("2probe");
        BOOST_TEST_REQUIRE(ws.read_text() == "3probe");
        ws.send_text("5");
    }

    /// The session, once the connection handler has seen it.
    eio::session session(const std::string& sid) {
        std::unique_lock lock(mutex_);
        BOOST_TEST_REQUIRE(cv_.wait_for(lock, io_limit, [&] { return sessions_.count(sid) > 0; }));
        return sessions_.at(sid);
    }

    std::optional<close_event> wait_closed(const std::string& sid, duration limit = io_limit) {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, limit, [&] { return closes_.count(sid) > 0; }))
            return std::nullopt;
        return closes_.at(sid);
    }
    bool is_closed(const std::string& sid) {
        std::lock_guard lock(mutex_);
        return closes_.count(sid) > 0;
    }
    void expect_closed(const std::string& sid, eio::close_reason reason, std::string_view description = {}) {
        const auto c = wait_closed(sid);
        BOOST_TEST_REQUIRE(c.has_value(), "session " << sid << " did not close");
        BOOST_TEST(c->reason == reason);
        if (!description.empty())
            BOOST_TEST(c->description == description);
    }

    /// Waits until session `sid` has received `n` messages; returns them.
    std::vector<eio::message> wait_messages(const std::string& sid, std::size_t n) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, io_limit, [&] { return count_messages(sid) >= n; });
        return messages_of(sid);
    }
    std::vector<eio::message> messages(const std::string& sid) {
        std::lock_guard lock(mutex_);
        return messages_of(sid);
    }
    std::size_t session_count() {
        std::lock_guard lock(mutex_);
        return sessions_.size();
    }
    bool known(const std::string& sid) {
        std::lock_guard lock(mutex_);
        return sessions_.count(sid) > 0;
    }

    /// The refusals reported by `connection_error`, once there are `n`.
    std::vector<eio::connection_error> wait_errors(std::size_t n) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, io_limit, [&] { return errors_.size() >= n; });
        return errors_;
    }

    /// The session is closed and the server has forgotten it: a GET on its sid is 400 code 1.
    void expect_session_gone(const std::string& sid);
    /// The server still serves a fresh handshake (and the new session closes cleanly).
    void check_still_serving();

private:
    std::size_t count_messages(const std::string& sid) const {
        std::size_t n = 0;
        for (const auto& [id, m] : messages_)
            n += id == sid;
        return n;
    }
    std::vector<eio::message> messages_of(const std::string& sid) const {
        std::vector<eio::message> out;
        for (const auto& [id, m] : messages_)
            if (id == sid)
                out.push_back(m);
        return out;
    }

    net::io_context sioc_;
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::unique_ptr<eio::server> engine_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::function<void(eio::session)> on_session_;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::map<std::string, eio::session> sessions_;
    std::vector<std::pair<std::string, eio::message>> messages_;
    std::map<std::string, close_event> closes_;
    std::vector<eio::connection_error> errors_;

    net::io_context client_ioc_;
};

/// A polling error response: status, JSON content type and `{"code":N,"message":"..."}`.
void check_error(const http_response& r, unsigned status, int code, std::string_view message) {
    BOOST_TEST(r.result_int() == status);
    BOOST_TEST(r[http::field::content_type] == "application/json");
    json::value body;
    BOOST_CHECK_NO_THROW(body = json::parse(r.body()));
    const json::value expected = {{"code", code}, {"message", message}};
    BOOST_TEST(body == expected, "body " << r.body());
}

void test_server::expect_session_gone(const std::string& sid) {
    if (known(sid))
        BOOST_TEST_REQUIRE(wait_closed(sid).has_value(), "session " << sid << " did not close");
    auto c = connect();
    check_error(c.request(get_request(polling_target(sid))), 400, 1, "Session ID unknown");
}

void test_server::check_still_serving() {
    auto c = connect();
    const std::string sid = open_polling(c);
    BOOST_TEST(!sid.empty());
    const auto r = c.request(post_request(polling_target(sid), "1"));
    BOOST_TEST(r.result_int() == 200);
    expect_closed(sid, eio::close_reason::transport_close);
}

std::string messages_text(const std::vector<eio::message>& ms) {
    std::string out;
    for (const auto& m : ms)
        out += (m.binary ? "b:" : "t:") + m.data + "|";
    return out;
}

std::string inflate(const std::string& in, int window_bits) {
    z_stream zs{};
    if (inflateInit2(&zs, window_bits) != Z_OK)
        throw std::runtime_error("inflateInit2");
    std::string out;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        char chunk[4096];
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        rc = ::inflate(&zs, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - zs.avail_out);
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END)
        throw std::runtime_error("inflate failed");
    return out;
}

/// Posts `body` to a fresh session and expects the reference reaction to a bad payload: the packets before
/// the bad record are delivered, the POST is refused and the session closes.
void expect_bad_payload(test_server& ts, const std::string& body, std::vector<std::string> delivered,
                        eio::close_reason reason = eio::close_reason::parse_error) {
    BOOST_TEST_CONTEXT("payload of " << body.size() << " bytes: " << body.substr(0, 40)) {
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        const auto r = c.request(post_request(polling_target(sid), body));
        BOOST_TEST(r.result_int() == 400);
        ts.expect_closed(sid, reason);
        std::vector<std::string> got;
        for (const auto& m : ts.messages(sid))
            got.push_back(m.data);
        BOOST_TEST(got == delivered, boost::test_tools::per_element());
        ts.expect_session_gone(sid);
    }
}

} // namespace

// =====================================================================================================
// HTTP long-polling
// =====================================================================================================

namespace {

/// One arena for every thread, so that mallinfo2 counts what the server's thread allocates.
const int one_arena = mallopt(M_ARENA_MAX, 1);

/// Bytes the allocator has handed out (every arena: the test sets one, see below), or nothing when the
/// allocator does not report them (a sanitizer's own).
std::optional<std::size_t> heap_in_use() {
    if (one_arena != 1)
        return std::nullopt; // a sanitizer's allocator: mallinfo2 does not see it
    const auto now = [] {
        const auto m = mallinfo2();
        return m.uordblks + m.hblkhd;
    };
    // A megabyte allocated must show (other threads may free meanwhile: a few tries).
    for (int attempt = 0; attempt < 5; ++attempt) {
        const auto before = now();
        auto probe = std::make_unique<char[]>(1 << 20);
        probe[0] = 1;
        if (now() >= before + (1 << 20))
            return before;
    }
    return std::nullopt;
}

} // namespace

BOOST_AUTO_TEST_SUITE(polling)

BOOST_AUTO_TEST_CASE(unknown_or_prototype_named_sid_is_code_1) {
    test_server ts;
    auto c = ts.connect();
    for (const std::string sid :
         {"unknown", "__proto__", "constructor", "hasOwnProperty", "toString", "%00"}) {
        BOOST_TEST_CONTEXT("sid " << sid) {
            check_error(c.request(get_request(polling_target(sid))), 400, 1, "Session ID unknown");
            auto d = ts.connect(); // a refused POST ends its connection (see below)
            check_error(d.request(post_request(polling_target(sid), "4x")), 400, 1, "Session ID unknown");
        }
    }
    check_error(c.request(get_request("/engine.io/?EIO=4&transport=polling&sid=")), 400, 1,
                "Session ID unknown");
    BOOST_TEST(ts.engine().clients_count() == 0u);
    ts.check_still_serving();
}

// A refused POST leaves its body unread: the server must not keep the connection alive (the body would
// then be parsed as the next request).
BOOST_AUTO_TEST_CASE(refused_post_with_unread_body_ends_the_connection) {
    test_server ts;
    auto c = ts.connect();
    const auto r = c.request(post_request(polling_target("unknown"), "4hello"));
    check_error(r, 400, 1, "Session ID unknown");
    BOOST_TEST(!r.keep_alive());
    BOOST_TEST(c.closed_by_peer());
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(unsupported_protocol_version_is_code_5) {
    test_server ts;
    auto c = ts.connect();
    for (const std::string target :
         {"/engine.io/?transport=polling", "/engine.io/?EIO=abc&transport=polling",
          "/engine.io/?EIO=3&transport=polling", "/engine.io/?EIO=5&transport=polling",
          "/engine.io/?EIO=&transport=polling", "/engine.io/?EIO=04&transport=polling",
          "/engine.io/?EIO=4%20&transport=polling"}) {
        BOOST_TEST_CONTEXT(target) {
            check_error(c.request(get_request(target)), 400, 5, "Unsupported protocol version");
        }
    }
    BOOST_TEST(ts.engine().clients_count() == 0u);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(unknown_transport_is_code_0) {
    test_server ts;
    auto c = ts.connect();
    for (const std::string transport :
         {"", "abc", "webtransport", "__proto__", "constructor", "POLLING", "polling%20", "%00"}) {
        BOOST_TEST_CONTEXT("transport '" << transport << "'") {
            check_error(c.request(get_request("/engine.io/?EIO=4&transport=" + transport)), 400, 0,
                        "Transport unknown");
        }
    }
    check_error(c.request(get_request("/engine.io/?EIO=4")), 400, 0, "Transport unknown");
    // The transport is checked before the sid, like the reference.
    check_error(c.request(get_request("/engine.io/?EIO=4&transport=__proto__&sid=x")), 400, 0,
                "Transport unknown");
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(handshake_with_another_method_is_code_2) {
    test_server ts; // no CORS: OPTIONS is a handshake with a bad method too
    for (const auto method :
         {http::verb::post, http::verb::put, http::verb::options, http::verb::delete_, http::verb::patch}) {
        BOOST_TEST_CONTEXT(http::to_string(method)) {
            auto c = ts.connect();
            check_error(c.request(make_request(method, polling_target())), 400, 2, "Bad handshake method");
            // With a body the connection cannot be reused.
            auto d = ts.connect();
            const auto r = d.request(make_request(method, polling_target(), "4hello"));
            check_error(r, 400, 2, "Bad handshake method");
            BOOST_TEST(d.closed_by_peer());
        }
    }
    BOOST_TEST(ts.engine().clients_count() == 0u);
    ts.check_still_serving();
}

// Reference: 500 with an empty body. Ours: 400 code 3; the session is not affected.
BOOST_AUTO_TEST_CASE(request_with_a_sid_and_another_method_is_code_3) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    for (const auto method : {http::verb::put, http::verb::delete_, http::verb::patch, http::verb::options}) {
        BOOST_TEST_CONTEXT(http::to_string(method)) {
            auto d = ts.connect();
            check_error(d.request(make_request(method, polling_target(sid))), 400, 3, "Bad request");
            auto e = ts.connect();
            const auto r = e.request(make_request(method, polling_target(sid), "4smuggled"));
            check_error(r, 400, 3, "Bad request");
            BOOST_TEST(e.closed_by_peer());
        }
    }
    BOOST_TEST(!ts.is_closed(sid));
    const auto r = c.request(post_request(polling_target(sid), "4still open"));
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(r.body() == "ok");
    BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:still open|");
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(second_concurrent_get_closes_the_session) {
    test_server ts;
    auto a = ts.connect();
    const std::string sid = ts.open_polling(a);
    a.send(get_request(polling_target(sid)));
    auto b = ts.connect();
    const auto rb = b.request(get_request(polling_target(sid)));
    const auto ra = a.receive();
    // Whichever GET reached the session second is refused; the parked one answers a close packet.
    const bool a_refused = ra.result_int() == 400;
    const http_response& refused = a_refused ? ra : rb;
    const http_response& parked = a_refused ? rb : ra;
    check_error(refused, 400, 3, "Bad request");
    BOOST_TEST(parked.result_int() == 200);
    BOOST_TEST(parked.body() == "1");
    ts.expect_closed(sid, eio::close_reason::transport_error);
    ts.expect_session_gone(sid);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(get_aborted_by_the_client_closes_the_session) {
    test_server ts;
    auto a = ts.connect();
    const std::string sid = ts.open_polling(a);
    a.send(get_request(polling_target(sid)));
    a.close();
    ts.expect_closed(sid, eio::close_reason::transport_error, "poll connection closed prematurely");
    ts.expect_session_gone(sid);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(second_concurrent_post_closes_the_session) {
    test_server ts;
    auto a = ts.connect();
    const std::string sid = ts.open_polling(a);
    // POST A: the header and part of the body; it holds the session's POST slot while it waits for the rest.
    a.send_raw("POST " + polling_target(sid) +
               " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "
               "6\r\n\r\n4ab");
    // POST B overlaps once the server has read A's header; until then B is served normally (a noop), so
    // retry a bounded number of times instead of guessing when A has arrived.
    bool overlapped = false;
    for (int attempt = 0; attempt < 200 && !overlapped; ++attempt) {
        auto b = ts.connect();
        const auto r = b.request(post_request(polling_target(sid), "6"));
        if (r.result_int() == 400) {
            check_error(r, 400, 3, "Bad request");
            overlapped = true;
        } else {
            BOOST_TEST_REQUIRE(r.result_int() == 200);
        }
    }
    BOOST_TEST_REQUIRE(overlapped);
    ts.expect_closed(sid, eio::close_reason::transport_error, "overlap from client");
    a.send_raw("cde"); // A completes after the session is gone
    BOOST_TEST(a.receive().result_int() == 400);
    BOOST_TEST(ts.messages(sid).empty());
    ts.expect_session_gone(sid);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(oversized_polling_post_is_413_and_closes_the_session) {
    sio::engine_options o;
    o.max_http_buffer_size = 1000;
    test_server ts(o);
    {
        // The handshake advertises the limit.
        auto c = ts.connect();
        const auto r = c.request(get_request(polling_target()));
        BOOST_TEST(json::parse(r.body().substr(1)).at("maxPayload").to_number<std::int64_t>() == 1000);
    }
    {
        // Content-Length over the limit: refused before reading the body.
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        c.send_raw("POST " + polling_target(sid) +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1001\r\n\r\n");
        const auto r = c.receive();
        BOOST_TEST(r.result_int() == 413);
        BOOST_TEST(!r.keep_alive());
        BOOST_TEST(c.closed_by_peer());
        ts.expect_closed(sid, eio::close_reason::transport_error, "payload too large");
        ts.expect_session_gone(sid);
    }
    for (const std::string chunks :
         {std::string("3e9\r\n4") + std::string(1000, 'a') + "\r\n",
          std::string("258\r\n4") + std::string(599, 'a') + "\r\n258\r\n" + std::string(600, 'a') + "\r\n"}) {
        // Chunked: counted while reading.
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        c.send_raw("POST " + polling_target(sid) +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks);
        const auto r = c.receive();
        BOOST_TEST(r.result_int() == 413);
        ts.expect_closed(sid, eio::close_reason::transport_error);
        ts.expect_session_gone(sid);
    }
    {
        // Exactly at the limit is fine.
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        const auto r = c.request(post_request(polling_target(sid), "4" + std::string(999, 'a')));
        BOOST_TEST(r.result_int() == 200);
        const auto ms = ts.wait_messages(sid, 1);
        BOOST_TEST_REQUIRE(ms.size() == 1u);
        BOOST_TEST(ms[0].data == std::string(999, 'a'));
        BOOST_TEST(!ts.is_closed(sid));
    }
    ts.check_still_serving();
}

// With the default limit (1 MB, under Beast's own default body limit of 1 MiB): a Content-Length one byte
// over, over 1 MiB, and absurd (10^12) all get the reference's 413 and close the session; a handshake POST
// of that size gets its code 2.
BOOST_AUTO_TEST_CASE(content_length_over_the_default_limit_is_413) {
    test_server ts;
    for (const std::string length : {"1000001", "2000000", "1000000000000"}) {
        BOOST_TEST_CONTEXT("Content-Length " << length) {
            auto c = ts.connect();
            const std::string sid = ts.open_polling(c);
            c.send_raw("POST " + polling_target(sid) +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length + "\r\n\r\n");
            const auto r = c.receive();
            BOOST_TEST(r.result_int() == 413);
            BOOST_TEST(c.closed_by_peer());
            ts.expect_closed(sid, eio::close_reason::transport_error, "payload too large");
            ts.expect_session_gone(sid);

            auto h = ts.connect();
            h.send_raw("POST " + polling_target() +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length + "\r\n\r\n");
            check_error(h.receive(), 400, 2, "Bad handshake method");
            BOOST_TEST(h.closed_by_peer());
        }
    }
    {
        // At the limit exactly: delivered.
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        const auto r = c.request(post_request(polling_target(sid), "4" + std::string(999'999, 'a')));
        BOOST_TEST(r.result_int() == 200);
        const auto ms = ts.wait_messages(sid, 1);
        BOOST_TEST_REQUIRE(ms.size() == 1u);
        BOOST_TEST(ms[0].data.size() == 999'999u);
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(octet_stream_post_is_400_and_closes_the_session) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    c.send_raw("POST " + polling_target(sid) +
               " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: "
               "3\r\n\r\n");
    const auto r = c.receive();
    BOOST_TEST(r.result_int() == 400);
    BOOST_TEST(!r.keep_alive());
    BOOST_TEST(c.closed_by_peer());
    ts.expect_closed(sid, eio::close_reason::transport_error, "invalid content type");
    ts.expect_session_gone(sid);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(bad_payload_processes_the_packets_before_it_then_closes) {
    test_server ts;
    expect_bad_payload(ts, "abc", {});
    expect_bad_payload(ts, "", {});
    expect_bad_payload(ts, "7", {});
    expect_bad_payload(ts, "x", {});
    expect_bad_payload(ts, payload({"4hello", ""}), {"hello"}); // trailing separator
    expect_bad_payload(ts, payload({"", "4hello"}), {});        // leading separator
    expect_bad_payload(ts, payload({"4a", "x", "4b"}), {"a"});
    expect_bad_payload(ts, payload({"4a", "4b", "9", "4c"}), {"a", "b"});
    expect_bad_payload(ts, payload({"4a", "", "4b"}), {"a"});
    ts.check_still_serving();
}

// Reference: bad base64 characters are skipped. Ours: a parse error.
BOOST_AUTO_TEST_CASE(invalid_base64_is_a_parse_error) {
    test_server ts;
    expect_bad_payload(ts, "b!!!", {});
    expect_bad_payload(ts, "b@@AQ", {});
    expect_bad_payload(ts, "bAQ=", {});
    expect_bad_payload(ts, payload({"4ok", "b!!!", "4never"}), {"ok"});
    {
        // Valid base64 is a binary message.
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        BOOST_TEST(c.request(post_request(polling_target(sid), payload({"bAAH/", "4t"}))).result_int() ==
                   200);
        BOOST_TEST(messages_text(ts.wait_messages(sid, 2)) == std::string("b:\0\x01\xff", 5) + "|t:t|");
    }
    ts.check_still_serving();
}

// Reference: replaced by U+FFFD. Ours: the whole payload is refused and the session closed.
BOOST_AUTO_TEST_CASE(invalid_utf8_in_a_post_closes_the_session) {
    test_server ts;
    expect_bad_payload(ts, "4\xff", {});
    expect_bad_payload(ts, "4\xc0\xaf", {});
    expect_bad_payload(ts, "4\xed\xa0\x80", {});
    expect_bad_payload(ts, payload({"4ok", "4\xe2\x82"}), {});
    {
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        const std::string text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";
        BOOST_TEST(c.request(post_request(polling_target(sid), "4" + text)).result_int() == 200);
        BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:" + text + "|");
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(aborted_or_trickled_post_and_slow_headers_are_cut_off) {
    sio::engine_options o;
    o.body_timeout = 300ms;
    o.header_timeout = 300ms;
    test_server ts(o);
    const std::string partial_post = " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n4abc";
    {
        // Aborted mid-body.
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        c.send_raw("POST " + polling_target(sid) + partial_post);
        c.close();
        ts.expect_closed(sid, eio::close_reason::transport_error, "POST body not received");
        ts.expect_session_gone(sid);
    }
    {
        // Trickled: the body deadline ends it.
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        const auto start = clock_type::now();
        c.send_raw("POST " + polling_target(sid) + partial_post);
        BOOST_TEST(c.closed_by_peer(3s));
        BOOST_TEST((clock_type::now() - start < 3s));
        ts.expect_closed(sid, eio::close_reason::transport_error, "POST body not received");
        ts.expect_session_gone(sid);
    }
    {
        // A request header that never completes.
        auto c = ts.connect();
        c.send_raw("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        BOOST_TEST(c.closed_by_peer(3s));
        auto idle = ts.connect(); // and a connection that sends nothing at all
        BOOST_TEST(idle.closed_by_peer(3s));
    }
    BOOST_TEST(ts.engine().clients_count() == 0u);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(polling_request_after_upgrade_is_code_3) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    auto ws = ts.connect();
    ts.upgrade(ws, sid);
    ws.send_text("4over websocket");
    BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:over websocket|");
    BOOST_TEST(ts.session(sid).transport() == eio::transport_kind::websocket);

    check_error(c.request(get_request(polling_target(sid))), 400, 3, "Bad request");
    auto d = ts.connect();
    check_error(d.request(post_request(polling_target(sid), "4x")), 400, 3, "Bad request");
    const auto errors = ts.wait_errors(2);
    BOOST_TEST_REQUIRE(errors.size() == 2u);
    BOOST_TEST(errors[0].code == eio::connection_error_code::bad_request);
    BOOST_TEST(errors[0].context.at("name").as_string() == "TRANSPORT_MISMATCH");
    BOOST_TEST(errors[0].context.at("transport").as_string() == "polling");
    BOOST_TEST(errors[0].context.at("previousTransport").as_string() == "websocket");
    // The session itself is fine.
    BOOST_TEST(!ts.is_closed(sid));
    ws.send_text("4still");
    BOOST_TEST(ts.wait_messages(sid, 2).size() == 2u);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(websocket_transport_without_upgrade_is_code_3) {
    test_server ts;
    auto c = ts.connect();
    check_error(c.request(get_request(websocket_target())), 400, 3, "Bad request");
    const auto errors = ts.wait_errors(1);
    BOOST_TEST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0].context.at("name").as_string() == "TRANSPORT_HANDSHAKE_ERROR");
    BOOST_TEST(ts.engine().clients_count() == 0u);
    ts.check_still_serving();
}

// Reference: 400 `{"code":3}` INVALID_ORIGIN. Ours: the HTTP parser already refuses control characters
// in any header value (400, empty body, connection closed), so the request never reaches the router.
BOOST_AUTO_TEST_CASE(origin_with_control_characters_is_refused) {
    test_server ts;
    for (const std::string origin :
         {"http://a\x01.example", "http://a\x7f.example", "http://a\x1b.example"}) {
        auto c = ts.connect();
        c.send_raw("GET " + polling_target() + " HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: " + origin +
                   "\r\n\r\n");
        const auto r = c.receive();
        BOOST_TEST(r.result_int() == 400);
        BOOST_TEST(c.closed_by_peer());
    }
    {
        // A tab is allowed (like the reference's checkInvalidHeaderChar).
        auto c = ts.connect();
        auto req = get_request(polling_target());
        req.set(http::field::origin, "http://a\t.example");
        BOOST_TEST(c.request(req).result_int() == 200);
    }
    BOOST_TEST(ts.engine().clients_count() == 1u);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(allow_request_denial_is_403_code_4) {
    sio::engine_options o;
    std::atomic<int> calls{0};
    o.allow_request = [&calls](const sio::request_info& r) -> net::awaitable<sio::allow_result> {
        ++calls;
        if (r.headers.get("x-deny"))
            co_return sio::allow_result::deny("denied by test");
        if (r.headers.get("x-throw"))
            throw std::runtime_error("hook failed");
        co_return sio::allow_result::allow();
    };
    test_server ts(o);
    {
        auto c = ts.connect();
        auto req = get_request(polling_target());
        req.set("X-Deny", "1");
        check_error(c.request(req), 403, 4, "denied by test");
    }
    {
        auto c = ts.connect();
        auto req = get_request(polling_target());
        req.set("X-Throw", "1");
        check_error(c.request(req), 403, 4, "Forbidden");
    }
    {
        // A WebSocket handshake gets a bare 403 with the message, and the connection ends.
        auto c = ts.connect();
        auto req = upgrade_request(websocket_target());
        req.set("X-Deny", "1");
        const auto r = c.request(req);
        BOOST_TEST(r.result_int() == 403);
        BOOST_TEST(r.body() == "denied by test");
        BOOST_TEST(c.closed_by_peer());
    }
    BOOST_TEST(ts.engine().clients_count() == 0u);
    const auto errors = ts.wait_errors(3);
    BOOST_TEST_REQUIRE(errors.size() == 3u);
    BOOST_TEST(errors[0].code == eio::connection_error_code::forbidden);
    BOOST_TEST(errors[0].message == "denied by test");
    BOOST_TEST(errors[1].message == "Forbidden");
    BOOST_TEST(errors[2].message == "denied by test");

    // Only handshakes are checked: requests carrying a sid (polling and upgrade) are not.
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    const int before = calls.load();
    auto req = post_request(polling_target(sid), "4x");
    req.set("X-Deny", "1");
    BOOST_TEST(c.request(req).result_int() == 200);
    auto ws = ts.connect();
    auto up = upgrade_request(websocket_target(sid));
    up.set("X-Deny", "1");
    BOOST_TEST(ws.request(up).result_int() == 101);
    BOOST_TEST(calls.load() == before);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(id_generation_failure_is_code_3_and_custom_ids_are_used) {
    std::atomic<int> n{0};
    test_server ts({}, [&n](eio::server& s) {
        s.generate_id([&n](const sio::request_info& r) -> net::awaitable<std::string> {
            if (r.headers.get("x-throw"))
                throw std::runtime_error("no id");
            if (r.headers.get("x-empty"))
                co_return std::string();
            if (r.headers.get("x-dup"))
                co_return std::string("fixed-id");
            co_return "custom-" + std::to_string(++n);
        });
    });
    auto c = ts.connect();
    BOOST_TEST(ts.open_polling(c) == "custom-1");
    auto w = ts.connect();
    BOOST_TEST(ts.open_websocket(w) == "custom-2");

    auto dup = get_request(polling_target());
    dup.set("X-Dup", "1");
    BOOST_TEST(c.request(dup).result_int() == 200);
    check_error(c.request(dup), 400, 3, "Bad request"); // the id is in use
    for (const char* header : {"X-Throw", "X-Empty"}) {
        auto req = get_request(polling_target());
        req.set(header, "1");
        check_error(c.request(req), 400, 3, "Bad request");
        auto ws = ts.connect();
        auto up = upgrade_request(websocket_target());
        up.set(header, "1");
        const auto r = ws.request(up);
        BOOST_TEST(r.result_int() == 400);
        BOOST_TEST(ws.closed_by_peer());
    }
    const auto errors = ts.wait_errors(5);
    BOOST_TEST_REQUIRE(errors.size() == 5u);
    for (const auto& e : errors)
        BOOST_TEST(e.context.at("name").as_string() == "ID_GENERATION_ERROR");
    BOOST_TEST(ts.engine().clients_count() == 3u);
    ts.check_still_serving();
}

// Reference: a legacy JSONP transport. Ours: `j` is ignored; the answer is a plain v4 payload.
BOOST_AUTO_TEST_CASE(jsonp_query_is_ignored) {
    test_server ts;
    auto c = ts.connect();
    const auto r = c.request(get_request(polling_target() + "&j=0"));
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(r[http::field::content_type] == "text/plain; charset=UTF-8");
    BOOST_TEST(r.body().starts_with("0{"));
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(packets_per_payload_are_capped) {
    {
        sio::engine_options o;
        o.max_packets_per_payload = 3;
        test_server ts(o);
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        BOOST_TEST(c.request(post_request(polling_target(sid), payload({"4a", "4b", "4c"}))).result_int() ==
                   200);
        BOOST_TEST(ts.wait_messages(sid, 3).size() == 3u);
        expect_bad_payload(ts, payload({"4a", "4b", "4c", "4d"}), {"a", "b", "c"});
        ts.check_still_serving();
    }
    {
        // ~1 MB of tiny packets against the default cap (10 000).
        test_server ts;
        std::string flood;
        for (int i = 0; i < 333'000; ++i)
            flood += "6\x1e";
        flood += "6";
        expect_bad_payload(ts, flood, {});
        std::string fine;
        for (int i = 0; i < 9'999; ++i)
            fine += "6\x1e";
        fine += "4last";
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        BOOST_TEST(c.request(post_request(polling_target(sid), fine)).result_int() == 200);
        BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:last|");
        ts.check_still_serving();
    }
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// WebSocket and upgrade
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(websocket_transport)

BOOST_AUTO_TEST_CASE(upgrade_with_unknown_sid_is_a_bare_400) {
    test_server ts;
    for (const std::string sid : {"unknown", "__proto__"}) {
        auto c = ts.connect();
        const auto r = c.request(upgrade_request(websocket_target(sid)));
        BOOST_TEST(r.result_int() == 400);
        BOOST_TEST(r.body() == "Session ID unknown");
        BOOST_TEST(c.closed_by_peer());
    }
    const auto errors = ts.wait_errors(2);
    BOOST_TEST_REQUIRE(errors.size() == 2u);
    BOOST_TEST(errors[0].code == eio::connection_error_code::unknown_sid);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(second_websocket_for_the_same_sid_is_closed) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    auto ws1 = ts.connect();
    BOOST_TEST_REQUIRE(ws1.request(upgrade_request(websocket_target(sid))).result_int() == 101);
    ws1.send_text("2probe");
    BOOST_TEST_REQUIRE(ws1.read_text() == "3probe");
    {
        // While upgrading.
        auto ws2 = ts.connect();
        BOOST_TEST_REQUIRE(ws2.request(upgrade_request(websocket_target(sid))).result_int() == 101);
        BOOST_TEST(ws2.read_close_code() == 1000);
    }
    ws1.send_text("5");
    ws1.send_text("4after upgrade");
    BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:after upgrade|");
    {
        // After the upgrade.
        auto ws3 = ts.connect();
        BOOST_TEST_REQUIRE(ws3.request(upgrade_request(websocket_target(sid))).result_int() == 101);
        BOOST_TEST(ws3.read_close_code() == 1000);
    }
    // The first WebSocket is unaffected, both ways.
    ws1.send_text("4again");
    BOOST_TEST(ts.wait_messages(sid, 2).size() == 2u);
    BOOST_TEST(!ts.session(sid).send("from server"));
    BOOST_TEST(ws1.read_text() == "4from server");
    BOOST_TEST(!ts.is_closed(sid));
    ts.check_still_serving();
}

// Reference: accepted, then closed. Ours: refused before the WebSocket handshake (bare 400); the session is
// not affected.
BOOST_AUTO_TEST_CASE(websocket_upgrade_with_polling_transport_is_refused) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    for (const std::string target : {polling_target(sid), polling_target()}) {
        auto ws = ts.connect();
        const auto r = ws.request(upgrade_request(target));
        BOOST_TEST(r.result_int() == 400);
        BOOST_TEST(r.body() == "Bad request");
        BOOST_TEST(ws.closed_by_peer());
    }
    BOOST_TEST(ts.engine().clients_count() == 1u);
    BOOST_TEST(c.request(post_request(polling_target(sid), "4ok")).result_int() == 200);
    BOOST_TEST(!ts.is_closed(sid));
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(malformed_websocket_handshake_is_refused) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);

    // Not an upgrade for HTTP: a POST (handshake method), `Upgrade: h2c`, HTTP/1.0.
    {
        auto d = ts.connect();
        auto req = upgrade_request(websocket_target());
        req.method(http::verb::post);
        check_error(d.request(req), 400, 2, "Bad handshake method");
    }
    {
        auto d = ts.connect();
        auto req = upgrade_request(websocket_target());
        req.set(http::field::upgrade, "h2c");
        check_error(d.request(req), 400, 3, "Bad request");
    }
    {
        auto d = ts.connect();
        auto req = upgrade_request(websocket_target());
        req.version(10);
        check_error(d.request(req), 400, 3, "Bad request");
    }

    // WebSocket handshake fields, on a handshake and on an upgrade of the live session.
    struct bad_case {
        const char* name;
        std::function<void(http_request&)> edit;
    };
    const std::vector<bad_case> cases{
        {"missing key", [](http_request& r) { r.erase(http::field::sec_websocket_key); }},
        {"short key", [](http_request& r) { r.set(http::field::sec_websocket_key, "abc"); }},
        {"key of 15 bytes",
         [](http_request& r) { r.set(http::field::sec_websocket_key, "AAAAAAAAAAAAAAAAAAAA"); }},
        {"key with bad characters",
         [](http_request& r) { r.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZ!=="); }},
        {"missing version", [](http_request& r) { r.erase(http::field::sec_websocket_version); }},
        {"version 12", [](http_request& r) { r.set(http::field::sec_websocket_version, "12"); }},
        {"version 8", [](http_request& r) { r.set(http::field::sec_websocket_version, "8"); }},
        {"missing host", [](http_request& r) { r.erase(http::field::host); }},
    };
    for (const std::string target : {websocket_target(), websocket_target(sid)}) {
        for (const auto& bad : cases) {
            BOOST_TEST_CONTEXT(bad.name << " on " << target) {
                auto d = ts.connect();
                auto req = upgrade_request(target);
                bad.edit(req);
                const auto r = d.request(req);
                BOOST_TEST(r.result_int() == 400);
                if (std::string_view(bad.name).starts_with("version") ||
                    std::string_view(bad.name) == "missing version")
                    BOOST_TEST(r[http::field::sec_websocket_version] == "13");
                BOOST_TEST(d.closed_by_peer());
            }
        }
    }
    // Nothing was opened, and the live session is untouched.
    BOOST_TEST(ts.engine().clients_count() == 1u);
    BOOST_TEST(ts.session_count() == 1u);
    BOOST_TEST(c.request(post_request(polling_target(sid), "4ok")).result_int() == 200);
    auto ws = ts.connect();
    ts.upgrade(ws, sid);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(malformed_subprotocol_is_refused_and_bad_extension_offers_ignored) {
    sio::engine_options o;
    o.per_message_deflate = sio::per_message_deflate_options{};
    test_server ts(o);
    for (const std::string protocol : {"", "a,,b", "chat, chat", "a b", "a;b", ",", "ch\"at"}) {
        BOOST_TEST_CONTEXT("Sec-WebSocket-Protocol '" << protocol << "'") {
            auto d = ts.connect();
            auto req = upgrade_request(websocket_target());
            req.set(http::field::sec_websocket_protocol, protocol);
            BOOST_TEST(d.request(req).result_int() == 400);
            BOOST_TEST(d.closed_by_peer());
        }
    }
    BOOST_TEST(ts.engine().clients_count() == 0u);
    // Well-formed lists are accepted and the first subprotocol is selected (reference: ws without
    // handleProtocols), including long runs of spaces, which must parse in linear time; with Beast's stream
    // (permessage-deflate) and with the session's own framing.
    const auto start = clock_type::now();
    test_server plain;
    for (auto* server : {&ts, &plain}) {
        for (const auto& [protocol, selected] :
             std::vector<std::pair<std::string, std::string>>{{"chat", "chat"},
                                                              {"chat, superchat", "chat"},
                                                              {"a" + std::string(12000, ' ') + ",b", "a"}}) {
            auto d = server->connect();
            auto req = upgrade_request(websocket_target());
            req.set(http::field::sec_websocket_protocol, protocol);
            const auto r = d.request(req);
            BOOST_TEST(r.result_int() == 101);
            BOOST_TEST(r[http::field::sec_websocket_protocol] == selected);
        }
    }
    // Malformed extension offers are ignored (no permessage-deflate is negotiated from them).
    for (const std::string ext :
         {std::string("permessage-deflate; client_max_window_bits=abc"),
          std::string("permessage-deflate;;;; ,,, ;"), std::string("constructor, __proto__, toString"),
          std::string(12000, ' ') + "x", "permessage-deflate" + std::string(12000, ';')}) {
        BOOST_TEST_CONTEXT("Sec-WebSocket-Extensions of " << ext.size() << " bytes") {
            auto d = ts.connect();
            auto req = upgrade_request(websocket_target());
            req.set(http::field::sec_websocket_extensions, ext);
            const auto r = d.request(req);
            BOOST_TEST((r.result_int() == 101 || r.result_int() == 400));
            if (r.result_int() == 101)
                BOOST_TEST(r[http::field::sec_websocket_extensions].find("client_max_window_bits=abc") ==
                           std::string_view::npos);
        }
    }
    BOOST_TEST((clock_type::now() - start < 2s));
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(header_flood_is_431) {
    test_server ts;
    auto flood = [](http_request r, std::size_t fields) {
        for (std::size_t i = 0; i < fields; ++i)
            r.insert("X-F" + std::to_string(i), "v");
        return r;
    };
    const std::size_t limit = ts.engine().options().max_header_count;
    for (auto base : {get_request(polling_target()), upgrade_request(websocket_target())}) {
        auto c = ts.connect();
        const auto r = c.request(flood(base, limit + 1));
        BOOST_TEST(r.result_int() == 431);
        BOOST_TEST(c.closed_by_peer());
        // Header bytes over the limit.
        auto d = ts.connect();
        base.set("X-Big", std::string(ts.engine().options().max_header_bytes + 1, 'a'));
        const auto r2 = d.request(base);
        BOOST_TEST(r2.result_int() == 431);
        BOOST_TEST(d.closed_by_peer());
    }
    {
        // Just under the count is served.
        auto c = ts.connect();
        BOOST_TEST(c.request(flood(get_request(polling_target()), limit - 2)).result_int() == 200);
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(garbage_right_after_the_upgrade_request_is_refused) {
    test_server ts;
    {
        // Frame bytes pipelined behind the upgrade request, in the same segment (CVE-2022-21676 shape).
        auto c = ts.connect();
        c.send_raw(serialize(upgrade_request(websocket_target())) + frame(op_text, "4x", true, 2));
        const auto r = c.receive();
        BOOST_TEST(r.result_int() == 400);
        BOOST_TEST(c.closed_by_peer());
    }
    {
        auto c = ts.connect();
        c.send_raw(serialize(upgrade_request(websocket_target())) +
                   std::string("\0\xff garbage garbage", 18));
        BOOST_TEST(c.receive().result_int() == 400);
        BOOST_TEST(c.closed_by_peer());
    }
    BOOST_TEST(ts.engine().clients_count() == 0u);
    {
        // Garbage as soon as the handshake completed.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        c.send_raw("GET / HTTP/1.1\r\n\r\n");
        BOOST_TEST(c.read_close_code() == 1002);
        c.close();
        ts.expect_closed(sid, eio::close_reason::transport_error);
    }
    ts.check_still_serving();
}

/// The two WebSocket paths: framed by the session (plain TCP, the default), and Beast's stream (what TLS and
/// permessage-deflate use; with the option on, every WebSocket takes it). Each reaction must be the same.
std::vector<std::pair<std::string, sio::engine_options>> both_websocket_paths(sio::engine_options o = {}) {
    auto beast_path = o;
    beast_path.per_message_deflate = sio::per_message_deflate_options{};
    return {{"framed by the session", o}, {"Beast's stream", beast_path}};
}

BOOST_AUTO_TEST_CASE(frame_protocol_violations_close_1002) {
    for (const auto& [path, options] : both_websocket_paths()) {
        BOOST_TEST_CONTEXT(path) {
            test_server ts(options);
            const std::vector<std::pair<std::string, std::string>> cases{
                {"unmasked frame", frame(op_text, "4x", true, 0, false)},
                {"RSV1 without permessage-deflate", frame(op_text, "4x", true, 4)},
                {"RSV2", frame(op_text, "4x", true, 2)},
                {"RSV3", frame(op_text, "4x", true, 1)},
                {"reserved data opcode 3", frame(0x3, "4x")},
                {"reserved control opcode 0xB", frame(0xB, "")},
                {"ping over 125 bytes", frame(op_ping, std::string(126, 'p'))},
                {"fragmented ping", frame(op_ping, "p", false)},
                {"continuation without a start", frame(op_cont, "4x")},
                {"new message inside a fragmented one", frame(op_text, "4a", false) + frame(op_text, "4b")},
            };
            for (const auto& [name, bytes] : cases) {
                BOOST_TEST_CONTEXT(name) {
                    auto c = ts.connect();
                    const std::string sid = ts.open_websocket(c);
                    c.send_raw(bytes);
                    BOOST_TEST(c.read_close_code() == 1002);
                    c.close();
                    ts.expect_closed(sid, eio::close_reason::transport_error);
                    BOOST_TEST(ts.messages(sid).empty());
                }
            }
            BOOST_TEST(ts.engine().clients_count() == 0u);
            ts.check_still_serving();
        }
    }
}

// A client that violates the protocol and then keeps the TCP connection open must not pin the session.
// Like the reference, the session closes at once ("transport error") after the close frame; ws destroys
// the socket after 30 s, sio at once.
BOOST_AUTO_TEST_CASE(protocol_violation_with_silent_client_ends_at_once) {
    sio::engine_options o;
    o.ping_interval = 100ms;
    o.ping_timeout = 100ms;
    test_server ts(o);
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    c.send_raw(frame(op_text, "4x", true, 2));
    BOOST_TEST(c.read_close_code() == 1002);
    // The client neither answers nor closes.
    ts.expect_closed(sid, eio::close_reason::transport_error);
    BOOST_TEST(c.closed_by_peer(3s));
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(invalid_utf8_closes_1007_and_bad_close_frames_1002) {
    for (const auto& [path, options] : both_websocket_paths()) {
        BOOST_TEST_CONTEXT(path) {
            test_server ts(options);
            const std::vector<std::tuple<std::string, std::string, int>> cases{
                {"invalid UTF-8 text", frame(op_text, "4\xff"), 1007},
                {"truncated UTF-8 text", frame(op_text, "4\xe2\x82"), 1007},
                {"surrogate in text", frame(op_text, "4\xed\xa0\x80"), 1007},
                {"invalid UTF-8 split over fragments",
                 frame(op_text, "4\xe2", false) + frame(op_cont, "\x28\xa1"), 1007},
                {"invalid UTF-8 close reason", frame(op_close, close_payload(1000, "\xff")), 1007},
                {"close code 999", frame(op_close, close_payload(999)), 1002},
                {"close code 1005", frame(op_close, close_payload(1005)), 1002},
                {"close code 1006", frame(op_close, close_payload(1006)), 1002},
                {"close code 1004", frame(op_close, close_payload(1004)), 1002},
                {"close code 2999", frame(op_close, close_payload(2999)), 1002},
                {"close code 5000", frame(op_close, close_payload(5000)), 1002},
                {"one-byte close payload", frame(op_close, "\x03"), 1002},
            };
            for (const auto& [name, bytes, code] : cases) {
                BOOST_TEST_CONTEXT(name) {
                    auto c = ts.connect();
                    const std::string sid = ts.open_websocket(c);
                    c.send_raw(bytes);
                    BOOST_TEST(c.read_close_code() == code);
                    c.close();
                    ts.expect_closed(sid, eio::close_reason::transport_error);
                    BOOST_TEST(ts.messages(sid).empty());
                }
            }
            {
                // Codes a peer may send are echoed: registered ones and the application range.
                for (const int code : {1001, 1011, 3000, 4999}) {
                    auto c = ts.connect();
                    const std::string sid = ts.open_websocket(c);
                    c.send_raw(frame(op_close, close_payload(code, "fine")));
                    BOOST_TEST(c.read_close_code() == code);
                    c.close();
                    ts.expect_closed(sid, eio::close_reason::transport_close);
                }
            }
            {
                // A valid close: the server answers it, and the session ends as a transport close.
                auto c = ts.connect();
                const std::string sid = ts.open_websocket(c);
                c.send_raw(frame(op_close, close_payload(1000, "bye")));
                BOOST_TEST(c.read_close_code() == 1000);
                c.close();
                ts.expect_closed(sid, eio::close_reason::transport_close);
            }
            ts.check_still_serving();
        }
    }
}

/// A client on Beast's WebSocket offering permessage-deflate: connects, reads the open packet, returns the
/// sid.
std::string open_deflate_websocket(test_server& ts, websocket::stream<beast::tcp_stream>& ws) {
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    ws.set_option(pmd);
    return run_io(ts.io(), [&]() -> net::awaitable<std::string> {
        beast::flat_buffer buffer;
        beast::get_lowest_layer(ws).expires_after(io_limit);
        co_await beast::get_lowest_layer(ws).async_connect(
            tcp::endpoint(net::ip::address_v4::loopback(), ts.port()), net::use_awaitable);
        co_await ws.async_handshake("127.0.0.1", websocket_target(), net::use_awaitable);
        co_await ws.async_read(buffer, net::use_awaitable);
        const std::string open(static_cast<const char*>(buffer.data().data()), buffer.size());
        co_return std::string(json::parse(std::string_view(open).substr(1)).at("sid").as_string());
    }());
}

/// Writes `text` as a text message on `ws` and reads until the server closes: the error and the close code.
std::pair<boost::system::error_code, int>
write_then_read_close(test_server& ts, websocket::stream<beast::tcp_stream>& ws, const std::string& text) {
    return run_io(ts.io(), [&]() -> net::awaitable<std::pair<boost::system::error_code, int>> {
        beast::flat_buffer buffer;
        beast::get_lowest_layer(ws).expires_after(io_limit);
        ws.text(true);
        // The server may close in the middle of a fragmented message: the write's error is not the point.
        auto [wec, wn] = co_await ws.async_write(net::buffer(text), awaitable_tuple);
        auto [rec, n] = co_await ws.async_read(buffer, awaitable_tuple);
        co_return std::make_pair(rec, static_cast<int>(ws.reason().code));
    }());
}

BOOST_AUTO_TEST_CASE(websocket_message_over_the_limit_closes_1009) {
    sio::engine_options o;
    o.max_http_buffer_size = 1000;
    o.per_message_deflate = sio::per_message_deflate_options{};
    test_server ts(o);
    const std::vector<std::pair<std::string, std::string>> cases{
        {"text", frame(op_text, "4" + std::string(1000, 'a'))},
        {"binary", frame(op_binary, std::string(1001, 'b'))},
        {"fragments",
         frame(op_text, "4" + std::string(599, 'a'), false) + frame(op_cont, std::string(600, 'a'))},
    };
    for (const auto& [name, bytes] : cases) {
        BOOST_TEST_CONTEXT(name) {
            auto c = ts.connect();
            const std::string sid = ts.open_websocket(c);
            c.send_raw(bytes);
            BOOST_TEST(c.read_close_code() == 1009);
            c.close();
            ts.expect_closed(sid, eio::close_reason::transport_error);
            BOOST_TEST(ts.messages(sid).empty());
        }
    }
    {
        // Exactly at the limit is fine.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        c.send_text("4" + std::string(999, 'a'));
        const auto ms = ts.wait_messages(sid, 1);
        BOOST_TEST_REQUIRE(ms.size() == 1u);
        BOOST_TEST(ms[0].data.size() == 999u);
        BOOST_TEST(!ts.is_closed(sid));
    }
    {
        // Compressed under the limit, inflated over it (permessage-deflate negotiated by a real client).
        websocket::stream<beast::tcp_stream> ws(ts.io());
        const auto sid = open_deflate_websocket(ts, ws);
        const auto [ec, code] = write_then_read_close(ts, ws, "4" + std::string(20000, 'z'));
        BOOST_TEST((ec == websocket::error::closed), ec.message());
        BOOST_TEST(code == 1009);
        ts.expect_closed(sid, eio::close_reason::transport_error);
        BOOST_TEST(ts.messages(sid).empty());
    }
    ts.check_still_serving();
}

// A compressed text message that is not UTF-8 closes with 1007, as on the session's own framing (Beast's
// own check, whole or fragmented, small or large, broken or truncated sequences).
BOOST_AUTO_TEST_CASE(compressed_invalid_utf8_closes_1007) {
    sio::engine_options o;
    o.per_message_deflate = sio::per_message_deflate_options{};
    o.per_message_deflate->threshold = 0;
    test_server ts(o);
    for (const std::string text :
         {std::string("4\xC3\x28"), "4" + std::string(3000, 'a') + "\xFF\xFE", std::string("4abc\xE2\x82"),
          "4" + std::string(100'000, 'b') + "\xE2\x82", "4\xE2\x82" + std::string(70'000, 'c')}) {
        for (const bool fragmented : {false, true}) {
            if (fragmented && text.size() > 8192)
                continue; // fragmented, the large ones could meet the server's close while still being
                          // written
            websocket::stream<beast::tcp_stream> ws(ts.io());
            const auto sid = open_deflate_websocket(ts, ws);
            ws.auto_fragment(fragmented);
            if (fragmented)
                ws.write_buffer_bytes(64);
            const auto [ec, code] = write_then_read_close(ts, ws, text);
            BOOST_TEST((ec == websocket::error::closed), ec.message());
            BOOST_TEST(code == 1007);
            ts.expect_closed(sid, eio::close_reason::transport_error);
            BOOST_TEST(ts.messages(sid).empty());
        }
    }
    ts.check_still_serving();
}

// permessage-deflate keeps zlib state per connection for its life; the window and memory options bound it.
// Measured with compressed traffic both ways (the open packet and a client message), with the same client.
BOOST_AUTO_TEST_CASE(permessage_deflate_memory_follows_its_options) {
    const auto per_connection = [](sio::per_message_deflate_options d) -> std::optional<std::size_t> {
        sio::engine_options o;
        d.threshold = 0;
        o.per_message_deflate = d;
        test_server ts(o);
        constexpr int n = 16;
        std::vector<std::unique_ptr<websocket::stream<beast::tcp_stream>>> clients;
        const auto connect_one = [&](bool keep) {
            auto ws = std::make_unique<websocket::stream<beast::tcp_stream>>(ts.io());
            const auto sid = open_deflate_websocket(ts, *ws);
            run_io(ts.io(), [&]() -> net::awaitable<void> {
                ws->text(true);
                const std::string text = "4" + std::string(2000, 'x');
                co_await ws->async_write(net::buffer(text), net::use_awaitable);
            }());
            BOOST_TEST_REQUIRE(ts.wait_messages(sid, 1).size() == 1u);
            if (keep)
                clients.push_back(std::move(ws));
        };
        connect_one(false); // what the first connection fills once (pools, tables)
        ts.sync();
        const auto before = heap_in_use();
        for (int i = 0; i < n; ++i)
            connect_one(true);
        ts.sync();
        const auto after = heap_in_use();
        if (!before || !after)
            return std::nullopt;
        return (*after - *before) / n;
    };
    const auto defaults = per_connection({});
    sio::per_message_deflate_options small;
    small.server_max_window_bits = 9;
    small.client_max_window_bits = 9;
    small.mem_level = 1;
    const auto bounded = per_connection(small);
    if (!defaults || !bounded) {
        BOOST_TEST_MESSAGE("the allocator does not report its use: the bound is not checked");
        return;
    }
    BOOST_TEST_MESSAGE("per compressed connection (server and test client): defaults "
                       << *defaults << " B, (9, 1, 9) " << *bounded << " B");
    BOOST_TEST(*defaults > *bounded + 100'000); // the server's share shrinks by the zlib windows
    BOOST_TEST(*bounded < *defaults / 2);
}

BOOST_AUTO_TEST_CASE(permessage_deflate_options_out_of_range_are_refused) {
    for (const auto& [w, c, m] :
         std::vector<std::tuple<int, int, int>>{{8, 15, 8}, {15, 16, 8}, {15, 15, 0}}) {
        sio::engine_options o;
        o.per_message_deflate = sio::per_message_deflate_options{};
        o.per_message_deflate->server_max_window_bits = w;
        o.per_message_deflate->client_max_window_bits = c;
        o.per_message_deflate->mem_level = m;
        net::io_context ioc;
        BOOST_CHECK_THROW(eio::server(ioc.get_executor(), o), std::invalid_argument);
    }
}

BOOST_AUTO_TEST_CASE(length_field_over_2_pow_53_closes_1009) {
    test_server ts;
    for (const std::uint64_t len :
         {std::uint64_t{1} << 53, (std::uint64_t{1} << 63) + 5, ~std::uint64_t{0}}) {
        BOOST_TEST_CONTEXT("length " << len) {
            auto c = ts.connect();
            const std::string sid = ts.open_websocket(c);
            c.send_raw(frame(op_binary, "", true, 0, true, len));
            BOOST_TEST(c.read_close_code() == 1009);
            c.close();
            ts.expect_closed(sid, eio::close_reason::transport_error);
        }
    }
    ts.check_still_serving();
}

// Reference (ws): close 1008 after 131 072 fragments. Ours: the frame parser keeps only payload bytes (an
// empty fragment costs no memory and the message stays capped at max_http_buffer_size), and a client stuck
// inside a fragmented message cannot answer pings, so the heartbeat ends the session.
BOOST_AUTO_TEST_CASE(fragment_floods_close_1009_or_1008) {
    sio::engine_options o;
    o.max_http_buffer_size = 1000;
    {
        // One-byte fragments add up to the message limit.
        test_server ts(o);
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        std::string bytes = frame(op_text, "4", false);
        for (int i = 0; i < 1000; ++i)
            bytes += frame(op_cont, "a", false);
        bytes += frame(op_cont, "a");
        c.send_raw(bytes);
        BOOST_TEST(c.read_close_code() == 1009);
        c.close();
        ts.expect_closed(sid, eio::close_reason::transport_error);
        ts.check_still_serving();
    }
    o.max_ws_fragments = 100;
    test_server ts(o);
    {
        // Empty fragments, without end: the fragment cap closes with 1008 (like the reference), long before
        // a heartbeat would.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        c.send_raw(frame(op_text, "4", false));
        std::string burst;
        for (int i = 0; i < 10'000; ++i)
            burst += frame(op_cont, "", false);
        c.try_send_raw(burst);
        BOOST_TEST(c.read_close_code() == 1008);
        ts.expect_closed(sid, eio::close_reason::transport_error);
        BOOST_TEST(ts.messages(sid).empty());
    }
    {
        // At the cap: one message.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        std::string bytes = frame(op_text, "4", false);
        for (int i = 2; i < 100; ++i)
            bytes += frame(op_cont, "", false);
        c.send_raw(bytes + frame(op_cont, "a"));
        const auto ms = ts.wait_messages(sid, 1);
        BOOST_TEST_REQUIRE(ms.size() == 1u);
        BOOST_TEST(ms[0].data == "a");
        BOOST_TEST(!ts.is_closed(sid));
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(binary_frame_is_a_binary_message) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    const std::string bytes("\x00\x01\xfe\xff", 4);
    c.send_frame(op_binary, bytes);
    c.send_frame(op_binary, "4text-looking");
    const auto ms = ts.wait_messages(sid, 2);
    BOOST_TEST_REQUIRE(ms.size() == 2u);
    BOOST_TEST(ms[0].binary);
    BOOST_TEST(ms[0].data == bytes);
    BOOST_TEST(ms[1].binary);
    BOOST_TEST(ms[1].data == "4text-looking");
    BOOST_TEST(!ts.is_closed(sid));
    ts.check_still_serving();
}

// A message hook may replace itself while it runs: it goes on running with its own captures (under ASan, a
// hook destroyed while running is reported), and the next message goes to the new hook.
BOOST_AUTO_TEST_CASE(a_message_hook_may_replace_itself) {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> seen;
    const auto record = [&](std::string what) {
        const std::lock_guard lock(m);
        seen.push_back(std::move(what));
        cv.notify_all();
    };
    test_server ts({}, {}, [&](eio::session s) {
        const std::string tag(64, 'x'); // a capture on the heap, with the hook
        s.on_message([s, tag, &record](eio::message&& first) {
            s.on_message([&record](eio::message&& next) { record("second:" + next.data); });
            record(tag.substr(0, 1) + ":" + first.data);
        });
    });
    auto c = ts.connect();
    ts.open_websocket(c);
    c.send_frame(op_text, "4one");
    c.send_frame(op_text, "4two");
    std::unique_lock lock(m);
    cv.wait_for(lock, io_limit, [&] { return seen.size() >= 2; });
    BOOST_TEST((seen == std::vector<std::string>{"x:one", "second:two"}));
}

// WebSocket pings (rare from Engine.IO clients, but legal) are answered with pongs carrying their data,
// also when they arrive in one read with messages.
BOOST_AUTO_TEST_CASE(websocket_pings_get_pongs) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    c.send_raw(frame(op_ping, "hi") + frame(op_text, "4a") + frame(op_ping, "") + frame(op_text, "4b"));
    std::vector<std::string> pongs;
    while (pongs.size() < 2) {
        const auto f = c.read_frame();
        BOOST_TEST_REQUIRE(f.has_value());
        if (f->opcode == op_pong)
            pongs.push_back(f->data);
    }
    BOOST_TEST((pongs == std::vector<std::string>{"hi", ""}));
    const auto ms = ts.wait_messages(sid, 2);
    BOOST_TEST_REQUIRE(ms.size() == 2u);
    BOOST_TEST(ms[0].data == "a");
    BOOST_TEST(ms[1].data == "b");
    BOOST_TEST(!ts.is_closed(sid));
}

// A peer that sends pings and never reads what the server writes: the socket fills, and the pongs that
// wait are kept to one (the latest ping's), instead of growing with every ping (100 MB of pings made
// 100 MB of waiting pongs).
BOOST_AUTO_TEST_CASE(ping_flood_without_reading_keeps_one_pong) {
    BOOST_TEST_MESSAGE("one malloc arena: " << (one_arena == 1 ? "yes" : "no (heap not measured)"));
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    std::string burst;
    const std::string data(125, 'p'); // the largest control payload: pongs of 127 bytes
    while (burst.size() < (1 << 20))
        burst += frame(op_ping, data);
    const auto before = heap_in_use();
    for (int i = 0; i < 32; ++i) // 32 MB of pings: far more than the socket buffers hold in pongs
        c.send_raw(burst);
    c.send_frame(op_text, "4done");
    BOOST_TEST_REQUIRE(ts.wait_messages(sid, 1).size() == 1u); // every ping was handled
    const auto after = heap_in_use();
    BOOST_TEST(!ts.is_closed(sid));
    if (before && after) {
        const auto grown = *after > *before ? *after - *before : 0;
        BOOST_TEST_MESSAGE("heap grown by " << grown << " bytes after 32 MB of unread pings");
        BOOST_TEST(grown < (4u << 20));
    } else {
        BOOST_TEST_MESSAGE("the allocator does not report its use: the heap is not checked");
    }
}

// A closed session's memory is freed when it closes, not when its next heartbeat deadline comes up (the
// heartbeat wheel kept every closed session's block until then: 23 MB after 5 000 connections dropped).
BOOST_AUTO_TEST_CASE(closed_sessions_free_their_memory_at_once) {
    test_server ts; // ping interval 25 s: every deadline is far away
    constexpr int n = 200;
    const auto open_and_close = [&ts] {
        std::vector<test_client> clients;
        std::vector<std::string> sids;
        for (int i = 0; i < n; ++i) {
            clients.push_back(ts.connect());
            sids.push_back(ts.open_websocket(clients.back()));
        }
        for (auto& c : clients)
            c.close();
        for (const auto& sid : sids)
            ts.expect_closed(sid, eio::close_reason::transport_close);
        ts.forget_sessions();
    };
    // A first round fills what is kept for reuse (the reactors' descriptor states, the session table).
    open_and_close();
    ts.sync();
    const auto base = heap_in_use();
    open_and_close();
    // The server's thread releases what the closes left; bounded wait for it (not a pace).
    std::optional<std::size_t> after;
    const auto limit = std::chrono::steady_clock::now() + 1s;
    do {
        ts.sync();
        after = heap_in_use();
    } while (base && after && *after > *base + n * 64 && std::chrono::steady_clock::now() < limit);
    BOOST_TEST(ts.session_count() == 0u);
    if (base && after) {
        const auto kept = *after > *base ? *after - *base : 0;
        BOOST_TEST_MESSAGE("kept after the closes: " << kept / n << " B per session");
        // A leaked session would keep about 600 B. Containers that keep their capacity for reuse (the session
        // table, the heartbeat wheel's slots, which a later round fills at other ticks) account for up to
        // about 64 B per session when the case runs alone in its process.
        BOOST_TEST(kept < n * 128u);
    } else {
        BOOST_TEST_MESSAGE("the allocator does not report its use: the heap is not checked");
    }
}

BOOST_AUTO_TEST_CASE(record_separator_in_a_text_frame_is_not_split) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    c.send_text(payload({"4a", "4b"}));
    c.send_text("bAQID"); // a `b` packet in a text frame is a base64 binary message, like the reference
    const auto ms = ts.wait_messages(sid, 2);
    BOOST_TEST_REQUIRE(ms.size() == 2u);
    BOOST_TEST(ms[0].data == payload({"a", "4b"}));
    BOOST_TEST(!ms[0].binary);
    BOOST_TEST(ms[1].binary);
    BOOST_TEST(ms[1].data == "\x01\x02\x03");
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(empty_or_unknown_text_frame_closes_with_parse_error) {
    test_server ts;
    for (const std::string text : {"", "7", "x", "9hello", "b!!!", "\x1e"}) {
        BOOST_TEST_CONTEXT("text frame '" << text << "'") {
            auto c = ts.connect();
            const std::string sid = ts.open_websocket(c);
            c.send_text(text);
            ts.expect_closed(sid, eio::close_reason::parse_error);
            BOOST_TEST(c.closed_by_peer());
        }
    }
    BOOST_TEST(ts.engine().clients_count() == 0u);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(unexpected_packet_on_the_upgrading_websocket_closes_only_it) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    const std::vector<std::pair<std::string, std::string>> cases{
        {"4x", frame(op_text, "4x")},         {"2", frame(op_text, "2")},
        {"3probe", frame(op_text, "3probe")}, {"empty", frame(op_text, "")},
        {"binary", frame(op_binary, "5")},    {"1", frame(op_text, "1")},
    };
    int n = 0;
    for (const auto& [name, bytes] : cases) {
        BOOST_TEST_CONTEXT("after the probe: " << name) {
            auto ws = ts.connect();
            BOOST_TEST_REQUIRE(ws.request(upgrade_request(websocket_target(sid))).result_int() == 101);
            ws.send_text("2probe");
            BOOST_TEST_REQUIRE(ws.read_text() == "3probe");
            ws.send_raw(bytes);
            const int code = ws.read_close_code();
            BOOST_TEST((code == 1000 || code == -1));
            // The polling session is kept.
            BOOST_TEST(!ts.is_closed(sid));
            const std::string text = "still polling " + std::to_string(++n);
            BOOST_TEST(c.request(post_request(polling_target(sid), "4" + text)).result_int() == 200);
            BOOST_TEST(ts.wait_messages(sid, static_cast<std::size_t>(n)).back().data == text);
        }
    }
    {
        // Before any probe.
        auto ws = ts.connect();
        BOOST_TEST_REQUIRE(ws.request(upgrade_request(websocket_target(sid))).result_int() == 101);
        ws.send_text("4x");
        BOOST_TEST((ws.read_close_code() == 1000));
    }
    BOOST_TEST(ts.session(sid).transport() == eio::transport_kind::polling);
    // A later, well-behaved upgrade still works.
    auto ws = ts.connect();
    ts.upgrade(ws, sid);
    ws.send_text("4upgraded");
    BOOST_TEST(ts.wait_messages(sid, static_cast<std::size_t>(n + 1)).back().data == "upgraded");
    BOOST_TEST(ts.session(sid).transport() == eio::transport_kind::websocket);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(upgrade_without_probe_completes) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    auto ws = ts.connect();
    BOOST_TEST_REQUIRE(ws.request(upgrade_request(websocket_target(sid))).result_int() == 101);
    ws.send_text("5");
    ws.send_text("4hello");
    BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:hello|");
    BOOST_TEST(ts.session(sid).transport() == eio::transport_kind::websocket);
    BOOST_TEST(!ts.session(sid).send("back"));
    BOOST_TEST(ws.read_text() == "4back");
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(probe_without_upgrade_packet_times_out) {
    const auto clock = std::make_shared<manual_clock>();
    sio::engine_options o;
    o.upgrade_timeout = 200ms;
    test_server ts(o, on_clock(clock));
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    auto ws = ts.connect();
    BOOST_TEST_REQUIRE(ws.request(upgrade_request(websocket_target(sid))).result_int() == 101);
    ws.send_text("2probe");
    BOOST_TEST_REQUIRE(ws.read_text() == "3probe"); // the upgrade's deadline runs from before the answer
    clock->advance(200ms);
    BOOST_TEST(ws.closed_by_peer());
    // The session goes on over polling (the noop released for the probe is still pending for the next GET).
    BOOST_TEST(!ts.is_closed(sid));
    BOOST_TEST(ts.session(sid).transport() == eio::transport_kind::polling);
    const auto r = c.request(get_request(polling_target(sid)));
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(r.body() == "6");
    BOOST_TEST(c.request(post_request(polling_target(sid), "4ok")).result_int() == 200);
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(probe_on_an_established_websocket_closes) {
    test_server ts;
    {
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        auto ws = ts.connect();
        ts.upgrade(ws, sid);
        ws.send_text("2probe");
        ts.expect_closed(sid, eio::close_reason::transport_error, "invalid heartbeat direction");
        BOOST_TEST(ws.closed_by_peer());
    }
    {
        auto ws = ts.connect();
        const std::string sid = ts.open_websocket(ws);
        ws.send_text("2probe");
        ts.expect_closed(sid, eio::close_reason::transport_error, "invalid heartbeat direction");
        BOOST_TEST(ws.closed_by_peer());
        ts.expect_session_gone(sid);
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Engine.IO packets on either transport
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(packets)

BOOST_AUTO_TEST_CASE(ping_from_the_client_closes) {
    test_server ts;
    {
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        BOOST_TEST(c.request(post_request(polling_target(sid), "2")).result_int() == 200);
        ts.expect_closed(sid, eio::close_reason::transport_error, "invalid heartbeat direction");
        ts.expect_session_gone(sid);
    }
    {
        auto ws = ts.connect();
        const std::string sid = ts.open_websocket(ws);
        ws.send_text("2");
        ts.expect_closed(sid, eio::close_reason::transport_error, "invalid heartbeat direction");
        BOOST_TEST(ws.closed_by_peer());
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(unsolicited_pongs_keep_the_session_and_a_missed_pong_times_out) {
    // The server's heartbeat runs on a clock this test moves: each step is exact, none waits.
    const auto clock = std::make_shared<manual_clock>();
    sio::engine_options o;
    o.ping_interval = 150ms;
    o.ping_timeout = 150ms;
    test_server ts(o, on_clock(clock));
    auto ws = ts.connect();
    const std::string sid = ts.open_websocket(ws);
    // A pong, then a message: the server reads them in order, so once the message is delivered the pong
    // was handled (and the clock may move on). One write for both (a second small write would wait for
    // the first one's delayed acknowledgement).
    std::size_t delivered = 0;
    const auto pong = [&] {
        ws.send_raw(frame(op_text, "3") + frame(op_text, "4sync"));
        BOOST_TEST_REQUIRE(ts.wait_messages(sid, ++delivered).size() == delivered);
    };
    pong(); // unsolicited: accepted
    for (int i = 0; i < 3; ++i) {
        clock->advance(150ms);
        BOOST_TEST_REQUIRE(ws.read_text(2s) == "2");
        pong();
    }
    // A stream of unsolicited pongs alone keeps the session alive, well past interval + timeout.
    for (int i = 0; i < 10; ++i) {
        clock->advance(50ms);
        pong();
    }
    BOOST_TEST(!ts.is_closed(sid));
    BOOST_TEST(ts.session(sid).is_open());
    // Stop answering: the next ping times out.
    clock->advance(150ms);
    BOOST_TEST_REQUIRE(ws.read_text(2s) == "2");
    clock->advance(150ms);
    ts.expect_closed(sid, eio::close_reason::ping_timeout);
    BOOST_TEST(ws.closed_by_peer());
    {
        // Over polling, the ping arrives in a GET.
        auto c = ts.connect();
        const std::string psid = ts.open_polling(c);
        clock->advance(150ms);
        BOOST_TEST(c.request(get_request(polling_target(psid))).body() == "2");
        BOOST_TEST(c.request(post_request(polling_target(psid), payload({"3", "4sync"}))).result_int() ==
                   200);
        BOOST_TEST_REQUIRE(ts.wait_messages(psid, 1).size() == 1u);
        clock->advance(150ms);
        BOOST_TEST(c.request(get_request(polling_target(psid))).body() == "2");
        clock->advance(150ms);
        ts.expect_closed(psid, eio::close_reason::ping_timeout);
        ts.expect_session_gone(psid);
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(close_packet_closes_the_session) {
    test_server ts;
    {
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        const auto r = c.request(post_request(polling_target(sid), "1"));
        BOOST_TEST(r.result_int() == 200);
        BOOST_TEST(r.body() == "ok");
        ts.expect_closed(sid, eio::close_reason::transport_close);
        ts.expect_session_gone(sid);
    }
    {
        // With a GET parked: it answers a noop (or, if the POST won the race, the GET finds no session).
        auto a = ts.connect();
        const std::string sid = ts.open_polling(a);
        a.send(get_request(polling_target(sid)));
        auto b = ts.connect();
        BOOST_TEST(b.request(post_request(polling_target(sid), "1")).result_int() == 200);
        const auto r = a.receive();
        if (r.result_int() == 200)
            BOOST_TEST(r.body() == "6");
        else
            check_error(r, 400, 1, "Session ID unknown");
        ts.expect_closed(sid, eio::close_reason::transport_close);
        ts.expect_session_gone(sid);
    }
    {
        // Over WebSocket: the server closes the WebSocket with 1000.
        auto ws = ts.connect();
        const std::string sid = ts.open_websocket(ws);
        ws.send_text("1");
        BOOST_TEST(ws.read_close_code() == 1000);
        ws.send_raw(frame(op_close, close_payload(1000)));
        BOOST_TEST(ws.closed_by_peer());
        ts.expect_closed(sid, eio::close_reason::transport_close);
        ts.expect_session_gone(sid);
    }
    ts.check_still_serving();
}

// After a close packet the server's closing handshake must not wait forever for a client that neither
// answers the close frame nor closes the TCP connection.
BOOST_AUTO_TEST_CASE(websocket_closing_handshake_is_bounded) {
    sio::engine_options o;
    o.ping_timeout = 200ms;
    test_server ts(o);
    auto ws = ts.connect();
    const std::string sid = ts.open_websocket(ws);
    ws.send_text("1");
    BOOST_TEST(ws.read_close_code() == 1000);
    const auto start = clock_type::now();
    BOOST_TEST(ws.closed_by_peer(3s));
    BOOST_TEST((clock_type::now() - start < 3s));
    ts.expect_closed(sid, eio::close_reason::transport_close);
    {
        // The same for a close requested by the application.
        auto w = ts.connect();
        const std::string id = ts.open_websocket(w);
        ts.session(id).close();
        BOOST_TEST(w.read_close_code() == 1000);
        BOOST_TEST(w.closed_by_peer(3s));
        ts.expect_closed(id, eio::close_reason::forced_close);
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(open_upgrade_and_noop_are_ignored) {
    test_server ts;
    {
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        BOOST_TEST(
            c.request(post_request(polling_target(sid), payload({"0", "5", "6", "0{}", "5x", "4after"})))
                .result_int() == 200);
        BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:after|");
        BOOST_TEST(!ts.is_closed(sid));
    }
    {
        auto ws = ts.connect();
        const std::string sid = ts.open_websocket(ws);
        for (const char* text : {"0", "5", "6", "6probe", "4after"})
            ws.send_text(text);
        BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:after|");
        BOOST_TEST(!ts.is_closed(sid));
        BOOST_TEST(!ts.session(sid).send("still here"));
        BOOST_TEST(ws.read_text() == "4still here");
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(unknown_packet_type_in_a_payload_closes) {
    test_server ts;
    expect_bad_payload(ts, "7", {});
    expect_bad_payload(ts, payload({"4a", "x"}), {"a"});
    ts.check_still_serving();
}

// An empty message is valid Engine.IO (a client may send ""); it is the Socket.IO decoder that must refuse
// an empty packet (the reference closes too, when its decoder throws).
BOOST_AUTO_TEST_CASE(message_without_data_is_an_empty_message) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    BOOST_TEST(c.request(post_request(polling_target(sid), payload({"4", "4"}))).result_int() == 200);
    auto ws = ts.connect();
    const std::string wsid = ts.open_websocket(ws);
    ws.send_text("4");
    BOOST_TEST(messages_text(ts.wait_messages(sid, 2)) == "t:|t:|");
    BOOST_TEST(messages_text(ts.wait_messages(wsid, 1)) == "t:|");
    BOOST_TEST(!ts.is_closed(sid));
    BOOST_TEST(!ts.is_closed(wsid));
    ts.check_still_serving();
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Hooks and options
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(hooks_and_options)

BOOST_AUTO_TEST_CASE(connection_error_event_reports_every_code) {
    sio::engine_options o;
    o.allow_request = [](const sio::request_info& r) -> net::awaitable<sio::allow_result> {
        co_return r.headers.get("x-deny") ? sio::allow_result::deny("go away") : sio::allow_result::allow();
    };
    test_server ts(o);
    auto c = ts.connect();
    check_error(c.request(get_request("/engine.io/?EIO=4&transport=abc")), 400, 0, "Transport unknown");
    check_error(c.request(get_request(polling_target("nope"))), 400, 1, "Session ID unknown");
    check_error(c.request(make_request(http::verb::put, polling_target())), 400, 2, "Bad handshake method");
    check_error(c.request(get_request(websocket_target())), 400, 3, "Bad request");
    auto denied = get_request(polling_target());
    denied.set("X-Deny", "1");
    check_error(c.request(denied), 403, 4, "go away");
    check_error(c.request(get_request("/engine.io/?EIO=3&transport=polling")), 400, 5,
                "Unsupported protocol version");

    const auto errors = ts.wait_errors(6);
    BOOST_TEST_REQUIRE(errors.size() == 6u);
    const std::vector<std::pair<int, std::string>> expected{{0, "Transport unknown"},
                                                            {1, "Session ID unknown"},
                                                            {2, "Bad handshake method"},
                                                            {3, "Bad request"},
                                                            {4, "go away"},
                                                            {5, "Unsupported protocol version"}};
    for (std::size_t i = 0; i < errors.size(); ++i) {
        BOOST_TEST(static_cast<int>(errors[i].code) == expected[i].first);
        BOOST_TEST(errors[i].message == expected[i].second);
        BOOST_TEST(errors[i].request.remote_address == "127.0.0.1");
    }
    BOOST_TEST(errors[0].context.at("transport").as_string() == "abc");
    BOOST_TEST(errors[1].context.at("sid").as_string() == "nope");
    BOOST_TEST(errors[2].context.at("method").as_string() == "PUT");
    BOOST_TEST(errors[2].request.method == "PUT");
    BOOST_TEST(errors[3].context.at("name").as_string() == "TRANSPORT_HANDSHAKE_ERROR");
    BOOST_TEST(errors[4].context.at("message").as_string() == "go away");
    BOOST_TEST(errors[4].request.headers.get("x-deny").value_or("") == "1");
    BOOST_TEST(errors[5].context.at("protocol").as_string() == "3");
    BOOST_TEST(errors[5].request.target == "/engine.io/?EIO=3&transport=polling");
}

BOOST_AUTO_TEST_CASE(headers_events_add_response_headers) {
    test_server ts({}, [](eio::server& s) {
        s.on_initial_headers(
            [](sio::header_list& h, const sio::request_info&) { h.add("X-Initial", "yes"); });
        s.on_headers([](sio::header_list& h, const sio::request_info& r) { h.add("X-Every", r.method); });
    });
    auto count = [](const http_response& r, std::string_view name) {
        return std::distance(r.equal_range(name).first, r.equal_range(name).second);
    };
    auto c = ts.connect();
    const auto hs = c.request(get_request(polling_target()));
    BOOST_TEST(hs.result_int() == 200);
    BOOST_TEST(hs["X-Initial"] == "yes");
    BOOST_TEST(hs["X-Every"] == "GET");
    BOOST_TEST(count(hs, "X-Initial") == 1);
    BOOST_TEST(count(hs, "X-Every") == 1);
    const std::string sid(json::parse(hs.body().substr(1)).at("sid").as_string());

    const auto post = c.request(post_request(polling_target(sid), "4x"));
    BOOST_TEST(post["X-Every"] == "POST");
    BOOST_TEST(count(post, "X-Initial") == 0);
    BOOST_TEST(!ts.session(sid).send("y"));
    const auto poll = c.request(get_request(polling_target(sid)));
    BOOST_TEST(poll["X-Every"] == "GET");
    BOOST_TEST(count(poll, "X-Initial") == 0);

    // WebSocket handshake (initial) and upgrade (not initial).
    auto w = ts.connect();
    const auto wr = w.request(upgrade_request(websocket_target()));
    BOOST_TEST(wr.result_int() == 101);
    BOOST_TEST(count(wr, "X-Initial") == 1);
    BOOST_TEST(count(wr, "X-Every") == 1);
    auto u = ts.connect();
    const auto ur = u.request(upgrade_request(websocket_target(sid)));
    BOOST_TEST(ur.result_int() == 101);
    BOOST_TEST(count(ur, "X-Initial") == 0);
    BOOST_TEST(count(ur, "X-Every") == 1);
}

BOOST_AUTO_TEST_CASE(clients_count_goes_up_and_down) {
    test_server ts;
    auto& engine = ts.engine();
    BOOST_TEST(engine.clients_count() == 0u);
    auto a = ts.connect();
    const std::string s1 = ts.open_polling(a);
    BOOST_TEST(engine.clients_count() == 1u);
    auto b = ts.connect();
    const std::string s2 = ts.open_polling(b);
    auto w = ts.connect();
    const std::string s3 = ts.open_websocket(w);
    BOOST_TEST(engine.clients_count() == 3u);

    BOOST_TEST(a.request(post_request(polling_target(s1), "1")).result_int() == 200);
    ts.expect_closed(s1, eio::close_reason::transport_close);
    BOOST_TEST(engine.clients_count() == 2u);
    w.send_text("1");
    ts.expect_closed(s3, eio::close_reason::transport_close);
    BOOST_TEST(engine.clients_count() == 1u);

    engine.close();
    BOOST_TEST(engine.clients_count() == 0u);
    ts.expect_closed(s2, eio::close_reason::forced_server_close);
}

BOOST_AUTO_TEST_CASE(cookie_option_sets_the_session_cookie) {
    sio::engine_options o;
    o.cookie = sio::cookie_options{};
    test_server ts(o);
    auto c = ts.connect();
    const auto hs = c.request(get_request(polling_target()));
    const std::string sid(json::parse(hs.body().substr(1)).at("sid").as_string());
    BOOST_TEST(hs[http::field::set_cookie] == "io=" + sid + "; Path=/; HttpOnly; SameSite=Lax");
    // Only on the handshake.
    BOOST_TEST(c.request(post_request(polling_target(sid), "6"))[http::field::set_cookie] == "");
    auto w = ts.connect();
    const auto wr = w.request(upgrade_request(websocket_target()));
    BOOST_TEST(wr.result_int() == 101);
    BOOST_TEST(wr[http::field::set_cookie].starts_with("io="));

    // Not set by default.
    test_server plain;
    auto d = plain.connect();
    BOOST_TEST(d.request(get_request(polling_target()))[http::field::set_cookie] == "");
}

BOOST_AUTO_TEST_CASE(cors_reflects_allowed_origins_and_answers_preflight) {
    sio::engine_options o;
    o.cors = sio::cors_options{};
    o.cors->origins = {"https://good.example"};
    o.cors->credentials = true;
    test_server ts(o);
    auto c = ts.connect();
    auto req = get_request(polling_target());
    req.set(http::field::origin, "https://good.example");
    const auto good = c.request(req);
    BOOST_TEST(good.result_int() == 200);
    BOOST_TEST(good[http::field::access_control_allow_origin] == "https://good.example");
    BOOST_TEST(good[http::field::access_control_allow_credentials] == "true");
    BOOST_TEST(good[http::field::vary].find("Origin") != std::string_view::npos);

    req.set(http::field::origin, "https://evil.example");
    const auto evil = c.request(req);
    BOOST_TEST(evil[http::field::access_control_allow_origin] == "");

    // Preflight is answered before any handshake validation (as by the reference).
    auto pre = make_request(http::verb::options, polling_target());
    pre.set(http::field::origin, "https://good.example");
    pre.set(http::field::access_control_request_method, "POST");
    pre.set(http::field::access_control_request_headers, "content-type");
    const auto p = c.request(pre);
    BOOST_TEST(p.result_int() == 204);
    BOOST_TEST(p[http::field::access_control_allow_methods] == "GET,HEAD,PUT,PATCH,POST,DELETE");
    BOOST_TEST(p[http::field::access_control_allow_headers] == "content-type");
    BOOST_TEST(p[http::field::access_control_allow_origin] == "https://good.example");

    // Errors carry CORS headers too, so the browser can read them.
    auto bad = get_request("/engine.io/?EIO=4&transport=abc");
    bad.set(http::field::origin, "https://good.example");
    const auto e = c.request(bad);
    check_error(e, 400, 0, "Transport unknown");
    BOOST_TEST(e[http::field::access_control_allow_origin] == "https://good.example");

    // A wildcard.
    sio::engine_options any;
    any.cors = sio::cors_options{};
    test_server ts2(any);
    auto d = ts2.connect();
    auto r2 = get_request(polling_target());
    r2.set(http::field::origin, "https://whoever.example");
    BOOST_TEST(d.request(r2)[http::field::access_control_allow_origin] == "*");

    // No CORS option: no CORS header.
    test_server ts3;
    auto f = ts3.connect();
    BOOST_TEST(f.request(r2)[http::field::access_control_allow_origin] == "");
}

BOOST_AUTO_TEST_CASE(http_compression_of_large_polling_responses) {
    test_server ts;
    auto c = ts.connect();
    const std::string sid = ts.open_polling(c);
    auto s = ts.session(sid);
    const std::string big(2000, 'x');
    for (const auto& [accept, encoding, bits] : std::vector<std::tuple<std::string, std::string, int>>{
             {"gzip, deflate, br", "gzip", 31}, {"deflate", "deflate", 15}}) {
        BOOST_TEST_CONTEXT(accept) {
            BOOST_TEST(!s.send(big));
            auto req = get_request(polling_target(sid));
            req.set(http::field::accept_encoding, accept);
            const auto r = c.request(req);
            BOOST_TEST(r.result_int() == 200);
            BOOST_TEST(r[http::field::content_encoding] == encoding);
            BOOST_TEST(r.body().size() < big.size());
            BOOST_TEST(inflate(r.body(), bits) == "4" + big);
        }
    }
    {
        // Under the threshold.
        BOOST_TEST(!s.send("small"));
        auto req = get_request(polling_target(sid));
        req.set(http::field::accept_encoding, "gzip");
        const auto r = c.request(req);
        BOOST_TEST(r[http::field::content_encoding] == "");
        BOOST_TEST(r.body() == "4small");
    }
    {
        // Every packet of the response sent with compress = false (the reference's `compress(false)`).
        BOOST_TEST(!s.send(big, {.compress = false}));
        auto req = get_request(polling_target(sid));
        req.set(http::field::accept_encoding, "gzip");
        const auto r = c.request(req);
        BOOST_TEST(r[http::field::content_encoding] == "");
        BOOST_TEST(r.body() == "4" + big);
    }
    {
        // Not accepted by the client.
        BOOST_TEST(!s.send(big));
        const auto r = c.request(get_request(polling_target(sid)));
        BOOST_TEST(r[http::field::content_encoding] == "");
        BOOST_TEST(r.body() == "4" + big);
    }
    // Disabled.
    sio::engine_options o;
    o.http_compression.reset();
    test_server plain(o);
    auto d = plain.connect();
    const std::string sid2 = plain.open_polling(d);
    BOOST_TEST(!plain.session(sid2).send(big));
    auto req = get_request(polling_target(sid2));
    req.set(http::field::accept_encoding, "gzip");
    const auto r = d.request(req);
    BOOST_TEST(r[http::field::content_encoding] == "");
    BOOST_TEST(r.body() == "4" + big);
}

BOOST_AUTO_TEST_CASE(volatile_packets_need_a_writable_transport) {
    test_server ts;
    {
        // Polling with no GET parked cannot write: the volatile packet is dropped, the others stay queued.
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        auto s = ts.session(sid);
        BOOST_TEST(!s.send("dropped", {.volatile_ = true}));
        BOOST_TEST(!s.send("kept"));
        BOOST_TEST(c.request(get_request(polling_target(sid))).body() == "4kept");
    }
    {
        // An idle WebSocket can write: the volatile packet goes out.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        BOOST_TEST(!ts.session(sid).send("sent", {.volatile_ = true}));
        BOOST_TEST(c.read_text() == "4sent");
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_CASE(outgoing_queue_overflow_policies) {
    for (const auto policy :
         {sio::overflow_policy::fail, sio::overflow_policy::drop, sio::overflow_policy::disconnect}) {
        BOOST_TEST_CONTEXT("policy " << static_cast<int>(policy)) {
            sio::engine_options o;
            o.max_queued_packets = 3;
            o.on_overflow = policy;
            test_server ts(o);
            auto c = ts.connect();
            const std::string sid = ts.open_polling(c);
            auto s = ts.session(sid);
            BOOST_TEST(!s.send("a"));
            BOOST_TEST(!s.send("b"));
            BOOST_TEST(!s.send("c"));
            const std::error_code ec = s.send("d");
            switch (policy) {
            case sio::overflow_policy::fail: {
                BOOST_TEST((ec == sio::error::queue_full));
                BOOST_TEST(s.is_open());
                BOOST_TEST(c.request(get_request(polling_target(sid))).body() == payload({"4a", "4b", "4c"}));
                BOOST_TEST(!s.send("e")); // room again once flushed
                BOOST_TEST(c.request(get_request(polling_target(sid))).body() == "4e");
                break;
            }
            case sio::overflow_policy::drop: {
                BOOST_TEST(!ec);
                BOOST_TEST(s.is_open());
                BOOST_TEST(c.request(get_request(polling_target(sid))).body() == payload({"4a", "4b", "4c"}));
                break;
            }
            case sio::overflow_policy::disconnect: {
                BOOST_TEST((ec == sio::error::queue_full));
                ts.expect_closed(sid, eio::close_reason::queue_overflow);
                BOOST_TEST(!s.is_open());
                BOOST_TEST((s.send("x") == sio::error::session_closed));
                ts.expect_session_gone(sid);
                break;
            }
            }
            ts.check_still_serving();
        }
    }
    {
        // The byte cap.
        sio::engine_options o;
        o.max_queued_bytes = 10;
        o.on_overflow = sio::overflow_policy::fail;
        test_server ts(o);
        auto c = ts.connect();
        const std::string sid = ts.open_polling(c);
        auto s = ts.session(sid);
        BOOST_TEST(!s.send("123456"));
        BOOST_TEST((s.send("12345") == sio::error::queue_full));
        BOOST_TEST(!s.send("1234"));
        BOOST_TEST(c.request(get_request(polling_target(sid))).body() == payload({"4123456", "41234"}));
    }
}

BOOST_AUTO_TEST_SUITE_END()
