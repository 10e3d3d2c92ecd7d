// The server's own WebSocket framing (src/engineio/ws_frame.hpp), without I/O: frames it writes, and
// what it makes of client frames, whole, split at every byte, fragmented, and malformed.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "engineio/ws_frame.hpp"
#include "support/client_frame.hpp"

using namespace sio::engineio::detail;
using namespace std::string_literals;

namespace {

using status = frame_parser::status;

/// A client frame (masked) of opcode `op`.
std::string client_frame(ws_opcode op, std::string_view payload, bool fin = true) {
    return sio_test::frame(static_cast<int>(op), payload, fin);
}

struct seen {
    std::vector<std::pair<ws_opcode, std::string>> events;
    status last = status::ok;
    std::size_t kept = 0; ///< what the parser still buffered at the end
};

/// Feeds `bytes` in pieces of `step` bytes (0: all at once) to one parser.
seen parse(std::string bytes, std::size_t step = 0, std::size_t max_message = 1 << 20) {
    frame_parser parser(max_message, 4096);
    seen out;
    if (step == 0)
        step = bytes.size();
    for (std::size_t at = 0; at < bytes.size() && out.last == status::ok; at += step) {
        const std::size_t n = std::min(step, bytes.size() - at);
        out.last = parser.feed(bytes.data() + at, n, [&](const frame_parser::event& e) {
            out.events.emplace_back(e.op, std::string(e.payload));
            return true;
        });
    }
    out.kept = parser.buffered();
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(writing)

BOOST_AUTO_TEST_CASE(header_sizes_follow_the_payload_length) {
    for (const std::size_t n : {0u, 1u, 125u, 126u, 65535u, 65536u, 70000u}) {
        std::string out;
        append_frame(out, ws_opcode::text, n == 0 ? "" : "4", std::string(n == 0 ? 0 : n - 1, 'x'));
        const std::size_t header = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
        BOOST_TEST_CONTEXT("payload " << n) {
            BOOST_TEST(out.size() == header + n);
            BOOST_TEST(static_cast<unsigned char>(out[0]) == 0x81u);        // FIN, text
            BOOST_TEST((static_cast<unsigned char>(out[1]) & 0x80u) == 0u); // servers do not mask
            std::uint64_t len = static_cast<unsigned char>(out[1]);
            if (header == 4)
                len = (static_cast<unsigned char>(out[2]) << 8) | static_cast<unsigned char>(out[3]);
            if (header == 10) {
                len = 0;
                for (int i = 2; i < 10; ++i)
                    len = (len << 8) | static_cast<unsigned char>(out[i]);
            }
            BOOST_TEST(len == n);
            if (n > 0)
                BOOST_TEST(out[header] == '4');
        }
    }
}

BOOST_AUTO_TEST_CASE(binary_and_close_frames) {
    std::string out;
    append_frame(out, ws_opcode::binary, {}, "\x01\x02"s);
    append_close_frame(out, 1009);
    BOOST_TEST(out == "\x82\x02\x01\x02\x88\x02\x03\xF1"s);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(utf8)

BOOST_AUTO_TEST_CASE(accepts_well_formed_text) {
    for (const std::string s :
         {""s, "plain ascii, longer than eight bytes"s, "h\xC3\xA9llo"s, "\xE2\x82\xAC"s,
          "\xF0\x9F\x98\x80 emoji"s, "\xED\x9F\xBF"s, "\xF4\x8F\xBF\xBF"s, "\xEF\xBF\xBF"s})
        BOOST_TEST(valid_utf8(s), s);
}

BOOST_AUTO_TEST_CASE(refuses_malformed_text) {
    for (const std::string s : {"\x80"s, "\xC0\x80"s, "\xC1\xBF"s, "\xE0\x80\x80"s, "\xED\xA0\x80"s,
                                "\xF0\x80\x80\x80"s, "\xF4\x90\x80\x80"s, "\xF5\x80\x80\x80"s, "\xFF"s,
                                "abc\xC3"s, "\xE2\x82"s, "\xE2\x28\xA1"s, "12345678\xC3\x28"s})
        BOOST_TEST(!valid_utf8(s));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reading)

BOOST_AUTO_TEST_CASE(frames_in_one_read_and_split_at_every_byte) {
    const std::string big(70000, 'b');
    const std::string mid(300, 'm');
    const std::string bytes = client_frame(ws_opcode::text, "4hello") + client_frame(ws_opcode::binary, mid) +
                              client_frame(ws_opcode::ping, "p") + client_frame(ws_opcode::text, big) +
                              client_frame(ws_opcode::text, "");
    const std::vector<std::pair<ws_opcode, std::string>> expected{{ws_opcode::text, "4hello"},
                                                                  {ws_opcode::binary, mid},
                                                                  {ws_opcode::ping, "p"},
                                                                  {ws_opcode::text, big},
                                                                  {ws_opcode::text, ""}};
    for (const std::size_t step : {0u, 1u, 2u, 3u, 7u, 125u, 4096u}) {
        const auto r = parse(bytes, step);
        BOOST_TEST_CONTEXT("step " << step) {
            BOOST_TEST((r.last == status::ok));
            BOOST_TEST((r.events == expected));
            BOOST_TEST(r.kept == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(fragmented_messages_with_control_frames_between) {
    const std::string bytes =
        client_frame(ws_opcode::text, "4fr", false) + client_frame(ws_opcode::ping, "") +
        client_frame(ws_opcode::continuation, "ag", false) +
        client_frame(ws_opcode::continuation, "\xC3", false) + client_frame(ws_opcode::continuation, "\xA9") +
        client_frame(ws_opcode::binary, "b1", false) + client_frame(ws_opcode::continuation, "b2");
    for (const std::size_t step : {0u, 1u, 5u}) {
        const auto r = parse(bytes, step);
        BOOST_TEST((r.last == status::ok));
        const std::vector<std::pair<ws_opcode, std::string>> expected{
            {ws_opcode::ping, ""}, {ws_opcode::text, "4frag\xC3\xA9"}, {ws_opcode::binary, "b1b2"}};
        BOOST_TEST((r.events == expected));
        BOOST_TEST(r.kept == 0u);
    }
}

BOOST_AUTO_TEST_CASE(partial_frames_and_fragments_are_kept_until_complete) {
    frame_parser parser(1024, 4096);
    std::vector<std::string> got;
    const auto feed = [&](std::string bytes) {
        return parser.feed(bytes.data(), bytes.size(), [&](const frame_parser::event& e) {
            got.emplace_back(e.payload);
            return true;
        });
    };
    const std::string whole = client_frame(ws_opcode::text, "4abc", false);
    BOOST_TEST((feed(whole.substr(0, 3)) == status::ok));
    BOOST_TEST(parser.buffered() == 3u); // the start of a frame
    BOOST_TEST((feed(whole.substr(3)) == status::ok));
    BOOST_TEST(parser.buffered() == 4u); // the first fragment of a message
    BOOST_TEST((feed(client_frame(ws_opcode::continuation, "de")) == status::ok));
    BOOST_TEST(parser.buffered() == 0u);
    BOOST_TEST((got == std::vector<std::string>{"4abcde"}));
}

BOOST_AUTO_TEST_CASE(the_handler_stops_parsing) {
    frame_parser parser(1024, 4096);
    std::string bytes = client_frame(ws_opcode::close, "\x03\xE8"s) + client_frame(ws_opcode::text, "4late");
    int calls = 0;
    const auto s = parser.feed(bytes.data(), bytes.size(), [&](const frame_parser::event& e) {
        ++calls;
        BOOST_TEST((e.op == ws_opcode::close));
        return false;
    });
    BOOST_TEST((s == status::stopped));
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(protocol_errors) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"unmasked", sio_test::frame(sio_test::op_text, "4x", true, 0, false)},
        {"rsv1 without an extension", sio_test::frame(sio_test::op_text, "4x", true, 4)},
        {"rsv3", sio_test::frame(sio_test::op_text, "4x", true, 1)},
        {"opcode 3", sio_test::frame(0x3, "4x")},
        {"opcode 11", sio_test::frame(0xB, "")},
        {"fragmented ping", client_frame(ws_opcode::ping, "p", false)},
        {"long ping", client_frame(ws_opcode::ping, std::string(126, 'p'))},
        {"continuation first", client_frame(ws_opcode::continuation, "x")},
        {"message inside a message",
         client_frame(ws_opcode::text, "a", false) + client_frame(ws_opcode::text, "b")},
        {"16-bit length below 126", "\x81\xFE\x00\x05"s + "KEYS" + "hello"},
        {"64-bit length below 65536", "\x81\xFF\x00\x00\x00\x00\x00\x00\x00\x05"s + "KEYS" + "hello"},
    };
    for (const auto& [name, bytes] : cases) {
        for (const std::size_t step : {0u, 1u}) {
            const auto r = parse(bytes, step);
            BOOST_TEST_CONTEXT(name << ", step " << step) {
                BOOST_TEST((r.last == status::protocol_error));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(sizes_are_capped_before_anything_is_buffered) {
    // One frame announcing more than the cap: refused from its header, before its payload arrives.
    frame_parser parser(100, 4096);
    std::string header = "\x82\xFF\x00\x00\x00\x01\x00\x00\x00\x00"s + "KEYS";
    int calls = 0;
    auto s =
        parser.feed(header.data(), header.size(), [&](const frame_parser::event&) { return ++calls > 0; });
    BOOST_TEST((s == status::too_big));
    BOOST_TEST(parser.buffered() == 0u);
    frame_parser huge(100, 4096); // a length with the top bit set is too big too (reference: 1009)
    std::string top = "\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x05"s + "KEYS";
    BOOST_TEST((huge.feed(top.data(), top.size(), [](const frame_parser::event&) { return true; }) ==
                status::too_big));
    // Fragments that add up to more than the cap.
    const std::string frags = client_frame(ws_opcode::text, std::string(60, 'a'), false) +
                              client_frame(ws_opcode::continuation, std::string(60, 'a'));
    BOOST_TEST((parse(frags, 0, 100).last == status::too_big));
    BOOST_TEST((parse(frags, 1, 100).last == status::too_big));
    // A continuation is refused from its header too: the fragments held plus its length pass the cap.
    frame_parser fragmented(100, 4096);
    std::string first = client_frame(ws_opcode::text, std::string(60, 'a'), false);
    BOOST_TEST((fragmented.feed(first.data(), first.size(),
                                [](const frame_parser::event&) { return true; }) == status::ok));
    std::string next = client_frame(ws_opcode::continuation, std::string(41, 'a')).substr(0, 8);
    BOOST_TEST((fragmented.feed(next.data(), next.size(), [](const frame_parser::event&) { return true; }) ==
                status::too_big));
    BOOST_TEST(fragmented.buffered() <= 60u);
    // At the cap exactly: fine.
    BOOST_TEST((parse(client_frame(ws_opcode::text, std::string(100, 'a')), 3, 100).last == status::ok));
    BOOST_TEST((parse(client_frame(ws_opcode::text, std::string(60, 'a'), false) +
                          client_frame(ws_opcode::continuation, std::string(40, 'a')),
                      5, 100)
                    .last == status::ok));
}

BOOST_AUTO_TEST_CASE(text_must_be_utf8) {
    BOOST_TEST((parse(client_frame(ws_opcode::text, "4\xC3\x28")).last == status::invalid_payload));
    // A code point split across fragments is fine; a broken one across fragments is not.
    BOOST_TEST((parse(client_frame(ws_opcode::text, "4\xE2", false) +
                      client_frame(ws_opcode::continuation, "\x82\xAC"))
                    .last == status::ok));
    BOOST_TEST(
        (parse(client_frame(ws_opcode::text, "4\xE2", false) + client_frame(ws_opcode::continuation, "("))
             .last == status::invalid_payload));
    // Binary messages are not text.
    BOOST_TEST((parse(client_frame(ws_opcode::binary, "\xC3\x28")).last == status::ok));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fragments)

// Empty continuation frames cost no memory, but a message may not be kept open with them forever.
BOOST_AUTO_TEST_CASE(a_message_in_more_fragments_than_allowed_is_refused) {
    const auto message_in = [](std::size_t fragments) {
        std::string bytes = client_frame(ws_opcode::text, "4", false);
        for (std::size_t i = 2; i < fragments; ++i)
            bytes += client_frame(ws_opcode::continuation, "", false);
        return bytes + client_frame(ws_opcode::continuation, "a");
    };
    const auto feed = [](frame_parser& parser, std::string bytes) {
        return parser.feed(bytes.data(), bytes.size(), [](const frame_parser::event&) { return true; });
    };
    frame_parser at_limit(1024, 10);
    BOOST_TEST((feed(at_limit, message_in(10)) == status::ok));
    BOOST_TEST((feed(at_limit, message_in(10)) == status::ok)); // the count starts again per message
    frame_parser over(1024, 10);
    BOOST_TEST((feed(over, message_in(11)) == status::too_many_fragments));
    // Control frames between the fragments are not fragments.
    frame_parser controls(1024, 3);
    std::string with_pings = client_frame(ws_opcode::text, "4", false);
    for (int i = 0; i < 5; ++i)
        with_pings += client_frame(ws_opcode::ping, "");
    with_pings +=
        client_frame(ws_opcode::continuation, "", false) + client_frame(ws_opcode::continuation, "a");
    BOOST_TEST((feed(controls, with_pings) == status::ok));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(close_frames_for_beast)

using sio::engineio::detail::close_frame_fixer;

/// The close frame's code and reason as a server reading `bytes` would see them.
std::pair<int, std::string> close_seen(std::string bytes) {
    const auto s = parse(std::move(bytes));
    BOOST_TEST_REQUIRE(!s.events.empty());
    const auto& payload = s.events.back().second;
    BOOST_TEST_REQUIRE(payload.size() >= 2u);
    return {(static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]),
            payload.substr(2)};
}

std::string close_body(int code, std::string_view reason) {
    std::string b{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    return b.append(reason);
}

BOOST_AUTO_TEST_CASE(a_close_reason_that_is_not_utf8_becomes_1007_and_a_bad_code_1005) {
    const std::string before = client_frame(ws_opcode::text, "4hello") + client_frame(ws_opcode::ping, "p");
    for (const auto& [body, code, fixed] :
         std::vector<std::tuple<std::string, int, bool>>{{close_body(1000, "\xff"), 1007, true},
                                                         {close_body(4000, "ok \xc3\xa9"), 4000, false},
                                                         {close_body(5000, ""), 1005, true},
                                                         {close_body(2999, "x"), 1005, true},
                                                         {close_body(1000, "bye"), 1000, false}}) {
        BOOST_TEST_CONTEXT(code) {
            std::string bytes = before + client_frame(ws_opcode::close, body);
            close_frame_fixer fixer;
            fixer.scan(bytes.data(), bytes.size());
            BOOST_TEST(fixer.saw_invalid_close() == fixed);
            const auto [seen_code, reason] = close_seen(bytes);
            BOOST_TEST(seen_code == code);
            BOOST_TEST(valid_utf8(reason));
            const auto s = parse(bytes);
            BOOST_TEST(s.events.front().second == "4hello"); // what came before is untouched
        }
    }
}

BOOST_AUTO_TEST_CASE(frames_split_over_reads_are_followed) {
    // Byte by byte through a long text frame (16-bit length) and a ping, then a whole close frame.
    std::string stream =
        client_frame(ws_opcode::text, std::string(300, 'a')) + client_frame(ws_opcode::ping, "");
    close_frame_fixer fixer;
    for (char& c : stream)
        fixer.scan(&c, 1);
    std::string close = client_frame(ws_opcode::close, close_body(1000, "\xfe"));
    fixer.scan(close.data(), close.size());
    BOOST_TEST(fixer.saw_invalid_close());
    BOOST_TEST(close_seen(close).first == 1007);
}

BOOST_AUTO_TEST_SUITE_END()

// The answers to a client's control frames (RFC 6455 §5.5).
BOOST_AUTO_TEST_SUITE(control_frames)

BOOST_AUTO_TEST_CASE(a_pong_echoes_the_ping_and_may_replace_the_last_one) {
    std::string out = "before";
    const auto first = append_pong(out, "abc", 0);
    BOOST_TEST(first == 5u); // two header bytes, the data
    BOOST_TEST(out == "before\x8a\x03"
                      "abc"s);
    const auto second = append_pong(out, "xy", first); // only the latest ping is answered
    BOOST_TEST(second == 4u);
    BOOST_TEST(out == "before\x8a\x02xy"s);
    append_pong(out, "", 0); // a second pong kept
    BOOST_TEST(out == "before\x8a\x02xy\x8a\x00"s);
}

BOOST_AUTO_TEST_CASE(a_close_frame_is_echoed_or_fails_the_connection) {
    const auto answer = [](std::string_view payload) {
        const auto a = answer_close(payload);
        return std::pair<bool, int>{a.valid, a.code};
    };
    BOOST_TEST((answer("") == std::pair<bool, int>{true, 1000}));
    BOOST_TEST((answer("\x03") == std::pair<bool, int>{false, 1002}));    // one byte: no code
    BOOST_TEST((answer("\x03\xe9") == std::pair<bool, int>{true, 1001})); // echoed
    BOOST_TEST((answer("\x0f\xa0"
                       "bye") == std::pair<bool, int>{true, 4000}));               // an application's code
    BOOST_TEST((answer("\x03\xed") == std::pair<bool, int>{false, 1002}));         // 1005: never sent
    BOOST_TEST((answer("\x13\x88") == std::pair<bool, int>{false, 1002}));         // 5000: unknown
    BOOST_TEST((answer("\x03\xe8\xc3\x28") == std::pair<bool, int>{false, 1007})); // reason not UTF-8
}

BOOST_AUTO_TEST_CASE(a_parse_failure_names_its_close_code) {
    BOOST_TEST(failure_close_code(status::protocol_error) == 1002);
    BOOST_TEST(failure_close_code(status::too_big) == 1009);
    BOOST_TEST(failure_close_code(status::invalid_payload) == 1007);
    BOOST_TEST(failure_close_code(status::too_many_fragments) == 1008);
}

BOOST_AUTO_TEST_SUITE_END()
