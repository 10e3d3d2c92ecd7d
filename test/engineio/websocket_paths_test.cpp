// The Engine.IO WebSocket behaviour, run over every way a WebSocket is served:
//   - framed: plain TCP without permessage-deflate, framed by the session itself;
//   - beast_deflate: plain TCP with permessage-deflate offered by the client and negotiated, on Beast's
//     websocket::stream;
//   - tls: TLS (a certificate made at run time), on Beast's websocket::stream.
// Each case is one data-driven test over the three paths, so a behaviour that holds on one path and not on
// another names the path that breaks it.
//
// The fixture (support/websocket_paths.hpp) writes frames byte for byte, so malformed frames are exactly
// what the case says. No sleep is used as synchronisation (the heartbeat case waits on the server's own
// timers).
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/manual_time.hpp"
#include "support/websocket_paths.hpp"

using namespace sio_test; // eio, the fixture
namespace bdata = boost::unit_test::data;

// =====================================================================================================
// Messages
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(messages)

BOOST_DATA_TEST_CASE(messages_keep_their_order_both_ways, bdata::make(all_paths), path) {
    path_server ts(path);
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    std::string burst; // many frames in one write
    std::string expected;
    for (int i = 0; i < 20; ++i) {
        burst += frame(op_text, "4m" + std::to_string(i));
        expected += "t:m" + std::to_string(i) + "|";
    }
    burst += frame(op_binary, std::string("\x00\xff", 2));
    expected += std::string("b:\x00\xff", 4) + "|";
    c.send_raw(burst);
    BOOST_TEST(messages_text(ts.wait_messages(sid, 21)) == expected);

    const auto s = ts.session(sid);
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(!s.send("s" + std::to_string(i)));
    std::vector<eio::outgoing> batch;
    batch.push_back({std::make_shared<const std::string>("batched"), false});
    batch.push_back({std::make_shared<const std::string>(std::string("\x01\x00\x02", 3)), true});
    BOOST_TEST(!s.send_batch(std::move(batch)));
    for (int i = 0; i < 20; ++i)
        BOOST_TEST(c.read_text() == "4s" + std::to_string(i));
    BOOST_TEST(c.read_text() == "4batched");
    const auto bin = c.read_frame();
    BOOST_TEST_REQUIRE(bin.has_value());
    BOOST_TEST(bin->opcode == op_binary);
    BOOST_TEST(bin->data == std::string("\x01\x00\x02", 3));
    BOOST_TEST(!ts.is_closed(sid));
    ts.check_still_serving();
}

BOOST_DATA_TEST_CASE(binary_frames_base64_text_and_empty_messages, bdata::make(all_paths), path) {
    path_server ts(path);
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    c.send_frame(op_binary, std::string("\x00\x01\xfe\xff", 4));
    c.send_frame(op_binary, "4text-looking");
    c.send_text("bAQID"); // a `b` packet in a text frame is a base64 binary message
    c.send_text("4a\x1e"
                "4b"); // a record separator in a text frame is not split
    c.send_text("4");  // an empty message
    BOOST_TEST(messages_text(ts.wait_messages(sid, 5)) == std::string("b:\x00\x01\xfe\xff|", 7) +
                                                              "b:4text-looking|b:\x01\x02\x03|t:a\x1e"
                                                              "4b|t:|");
    BOOST_TEST(!ts.is_closed(sid));
}

BOOST_DATA_TEST_CASE(fragmented_messages_are_reassembled_around_pings, bdata::make(all_paths), path) {
    path_server ts(path);
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    c.send_raw(frame(op_text, "4ab", false) + frame(op_ping, "mid") + frame(op_cont, "cd", false) +
               frame(op_cont, "ef"));
    c.send_raw(frame(op_binary, "x", false) + frame(op_cont, "yz"));
    const auto pong = c.read_frame();
    BOOST_TEST_REQUIRE(pong.has_value());
    BOOST_TEST(pong->opcode == op_pong);
    BOOST_TEST(pong->data == "mid");
    BOOST_TEST(messages_text(ts.wait_messages(sid, 2)) == "t:abcdef|b:xyz|");
    BOOST_TEST(!ts.is_closed(sid));
}

BOOST_DATA_TEST_CASE(websocket_pings_get_pongs, bdata::make(all_paths), path) {
    path_server ts(path);
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
    BOOST_TEST(messages_text(ts.wait_messages(sid, 2)) == "t:a|t:b|");
    BOOST_TEST(!ts.is_closed(sid));
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Bad frames and close codes
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(bad_frames)

BOOST_DATA_TEST_CASE(frame_protocol_violations_close_1002, bdata::make(all_paths), path) {
    path_server ts(path);
    std::vector<std::pair<std::string, std::string>> cases{
        {"unmasked frame", frame(op_text, "4x", true, 0, false)},
        {"RSV2", frame(op_text, "4x", true, 2)},
        {"RSV3", frame(op_text, "4x", true, 1)},
        {"reserved data opcode 3", frame(0x3, "4x")},
        {"reserved control opcode 0xB", frame(0xB, "")},
        {"ping over 125 bytes", frame(op_ping, std::string(126, 'p'))},
        {"fragmented ping", frame(op_ping, "p", false)},
        {"continuation without a start", frame(op_cont, "4x")},
        {"new message inside a fragmented one", frame(op_text, "4a", false) + frame(op_text, "4b")},
    };
    if (path != ws_path::beast_deflate) // RSV1 marks a compressed message once deflate is negotiated
        cases.emplace_back("RSV1 without permessage-deflate", frame(op_text, "4x", true, 4));
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

BOOST_DATA_TEST_CASE(invalid_utf8_and_close_codes, bdata::make(all_paths), path) {
    path_server ts(path);
    const std::vector<std::tuple<std::string, std::string, int>> cases{
        {"invalid UTF-8 text", frame(op_text, "4\xff"), 1007},
        {"truncated UTF-8 text", frame(op_text, "4\xe2\x82"), 1007},
        {"surrogate in text", frame(op_text, "4\xed\xa0\x80"), 1007},
        {"invalid UTF-8 split over fragments", frame(op_text, "4\xe2", false) + frame(op_cont, "\x28\xa1"),
         1007},
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
    for (const int code : {1000, 1001, 3000, 4999}) {
        BOOST_TEST_CONTEXT("peer close code " << code) {
            auto c = ts.connect();
            const std::string sid = ts.open_websocket(c);
            c.send_raw(frame(op_close, close_payload(static_cast<std::uint16_t>(code), "fine")));
            BOOST_TEST(c.read_close_code() == code); // echoed
            c.close();
            ts.expect_closed(sid, eio::close_reason::transport_close);
        }
    }
    ts.check_still_serving();
}

BOOST_DATA_TEST_CASE(messages_over_the_limit_close_1009, bdata::make(all_paths), path) {
    sio::engine_options o;
    o.max_http_buffer_size = 1000;
    path_server ts(path, o);
    const std::vector<std::pair<std::string, std::string>> cases{
        {"text", frame(op_text, "4" + std::string(1000, 'a'))},
        {"binary", frame(op_binary, std::string(1001, 'b'))},
        {"fragments",
         frame(op_text, "4" + std::string(599, 'a'), false) + frame(op_cont, std::string(600, 'a'))},
        {"length field 2^53", frame(op_binary, "", true, 0, true, std::uint64_t{1} << 53)},
        {"length field 2^64 - 1", frame(op_binary, "", true, 0, true, ~std::uint64_t{0})},
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
    ts.check_still_serving();
}

BOOST_AUTO_TEST_SUITE_END()

// =====================================================================================================
// Engine.IO over the WebSocket: heartbeat, close, bad packets, upgrade
// =====================================================================================================

BOOST_AUTO_TEST_SUITE(engineio_packets)

BOOST_DATA_TEST_CASE(heartbeat_keeps_an_answering_session_and_ends_a_silent_one, bdata::make(all_paths),
                     path) {
    // The server's heartbeat runs on a clock this test moves: each step is exact, none waits.
    const auto clock = std::make_shared<manual_clock>();
    sio::engine_options o;
    o.ping_interval = 150ms;
    o.ping_timeout = 150ms;
    path_server ts(path, o, on_clock(clock));
    auto c = ts.connect();
    const std::string sid = ts.open_websocket(c);
    // A pong, then a message: the server reads them in order, so once the message is delivered the pong
    // was handled (and the clock may move on). One write for both (a second small write would wait for
    // the first one's delayed acknowledgement).
    std::size_t delivered = 0;
    const auto pong = [&] {
        c.send_raw(frame(op_text, "3") + frame(op_text, "4sync"));
        BOOST_TEST_REQUIRE(ts.wait_messages(sid, ++delivered).size() == delivered);
    };
    pong(); // unsolicited: accepted
    for (int i = 0; i < 3; ++i) {
        clock->advance(150ms);
        BOOST_TEST_REQUIRE(c.read_text(2s) == "2");
        pong();
    }
    BOOST_TEST(!ts.is_closed(sid));
    // Stop answering: the next ping times out.
    clock->advance(150ms);
    BOOST_TEST_REQUIRE(c.read_text(2s) == "2");
    clock->advance(150ms);
    ts.expect_closed(sid, eio::close_reason::ping_timeout);
    BOOST_TEST(c.closed_by_peer());
    ts.check_still_serving();
}

BOOST_DATA_TEST_CASE(close_packet_and_application_close_end_the_websocket, bdata::make(all_paths), path) {
    sio::engine_options o;
    o.ping_timeout = 200ms; // the closing handshake's bound
    path_server ts(path, o);
    {
        // A close packet: the server closes the WebSocket with 1000.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        c.send_text("1");
        BOOST_TEST(c.read_close_code() == 1000);
        c.send_raw(frame(op_close, close_payload(1000)));
        BOOST_TEST(c.closed_by_peer());
        ts.expect_closed(sid, eio::close_reason::transport_close);
    }
    {
        // The same, with a client that never answers the close frame: bounded by ping_timeout.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        c.send_text("1");
        BOOST_TEST(c.read_close_code() == 1000);
        BOOST_TEST(c.closed_by_peer(3s));
        ts.expect_closed(sid, eio::close_reason::transport_close);
    }
    {
        // The application closes: queued packets first, then the close frame.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        const auto s = ts.session(sid);
        BOOST_TEST(!s.send("last"));
        s.close();
        BOOST_TEST(c.read_text() == "4last");
        BOOST_TEST(c.read_close_code() == 1000);
        BOOST_TEST(c.closed_by_peer(3s));
        ts.expect_closed(sid, eio::close_reason::forced_close);
    }
    ts.check_still_serving();
}

BOOST_DATA_TEST_CASE(bad_packets_close_the_session, bdata::make(all_paths), path) {
    path_server ts(path);
    for (const std::string text : {"", "7", "x", "9hello", "b!!!", "\x1e"}) {
        BOOST_TEST_CONTEXT("text frame '" << text << "'") {
            auto c = ts.connect();
            const std::string sid = ts.open_websocket(c);
            c.send_text(text);
            ts.expect_closed(sid, eio::close_reason::parse_error);
            BOOST_TEST(c.closed_by_peer());
        }
    }
    for (const std::string text : {"2", "2probe"}) {
        BOOST_TEST_CONTEXT("text frame '" << text << "'") {
            auto c = ts.connect();
            const std::string sid = ts.open_websocket(c);
            c.send_text(text);
            ts.expect_closed(sid, eio::close_reason::transport_error, "invalid heartbeat direction");
            BOOST_TEST(c.closed_by_peer());
        }
    }
    {
        // Packets a client has no reason to send on an open WebSocket are ignored.
        auto c = ts.connect();
        const std::string sid = ts.open_websocket(c);
        for (const char* text : {"0", "5", "6", "6probe", "4after"})
            c.send_text(text);
        BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:after|");
        BOOST_TEST(!ts.session(sid).send("still here"));
        BOOST_TEST(c.read_text() == "4still here");
        BOOST_TEST(!ts.is_closed(sid));
    }
    ts.check_still_serving();
}

BOOST_DATA_TEST_CASE(upgrade_from_polling, bdata::make(all_paths), path) {
    path_server ts(path);
    auto poll = ts.connect();
    {
        // With a probe; messages then travel over the WebSocket both ways.
        const std::string sid = ts.open_polling(poll);
        BOOST_TEST(poll.request(post_request(polling_target(sid), "4over polling")).result_int() == 200);
        auto ws = ts.connect();
        BOOST_TEST_REQUIRE(ws.request(ws.upgrade_request_for(websocket_target(sid))).result_int() == 101);
        ws.send_text("2probe");
        BOOST_TEST_REQUIRE(ws.read_text() == "3probe");
        ws.send_text("5");
        ws.send_text("4over websocket");
        BOOST_TEST(messages_text(ts.wait_messages(sid, 2)) == "t:over polling|t:over websocket|");
        BOOST_TEST(ts.session(sid).transport() == eio::transport_kind::websocket);
        BOOST_TEST(!ts.session(sid).send("back"));
        BOOST_TEST(ws.read_text() == "4back");
        // A probe on the established WebSocket closes the session.
        ws.send_text("2probe");
        ts.expect_closed(sid, eio::close_reason::transport_error, "invalid heartbeat direction");
        BOOST_TEST(ws.closed_by_peer());
    }
    {
        // Without a probe.
        const std::string sid = ts.open_polling(poll);
        auto ws = ts.connect();
        BOOST_TEST_REQUIRE(ws.request(ws.upgrade_request_for(websocket_target(sid))).result_int() == 101);
        ws.send_text("5");
        ws.send_text("4hello");
        BOOST_TEST(messages_text(ts.wait_messages(sid, 1)) == "t:hello|");
        BOOST_TEST(ts.session(sid).transport() == eio::transport_kind::websocket);
        BOOST_TEST(!ts.session(sid).send("back"));
        BOOST_TEST(ws.read_text() == "4back");
    }
    {
        // An unexpected packet after the probe ends the probing WebSocket; the session stays on polling.
        const std::string sid = ts.open_polling(poll);
        auto ws = ts.connect();
        BOOST_TEST_REQUIRE(ws.request(ws.upgrade_request_for(websocket_target(sid))).result_int() == 101);
        ws.send_text("2probe");
        BOOST_TEST_REQUIRE(ws.read_text() == "3probe");
        ws.send_text("4x");
        const int code = ws.read_close_code();
        BOOST_TEST((code == 1000 || code == -1));
        BOOST_TEST(!ts.is_closed(sid));
        BOOST_TEST(ts.session(sid).transport() == eio::transport_kind::polling);
        BOOST_TEST(poll.request(post_request(polling_target(sid), "4still polling")).result_int() == 200);
        BOOST_TEST(ts.wait_messages(sid, 1).back().data == "still polling");
    }
    ts.check_still_serving();
}

BOOST_AUTO_TEST_SUITE_END()
