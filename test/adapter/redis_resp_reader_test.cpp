// Reading RESP2 replies from bytes, with no socket: the guard in front of hiredis's reader (its byte,
// element, cost and nesting limits, refused before the payload arrives), and the replies the reader
// yields, whole and split at every byte.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

#include "adapter/redis/resp_reader.hpp"

using sio::redis_detail::errc;
using sio::redis_detail::reply;
using sio::redis_detail::resp_guard;
using sio::redis_detail::resp_reader;
using kind = reply::kind;

namespace {

constexpr std::size_t big = 64 * 1024 * 1024;
constexpr std::size_t many = 1024 * 1024;

/// What a reader makes of `bytes` fed in pieces of `piece` bytes (0: whole).
struct outcome {
    std::vector<reply> replies;
    std::error_code error;
};

outcome read(const std::string& bytes, std::size_t piece = 0, std::size_t max_bytes = big,
             std::size_t max_elements = many) {
    resp_reader r(max_bytes, max_elements);
    outcome out;
    const std::size_t step = piece == 0 ? bytes.size() : piece;
    for (std::size_t at = 0; at < bytes.size() && !out.error; at += step) {
        out.error = r.feed(bytes.data() + at, std::min(step, bytes.size() - at));
        reply one;
        while (!out.error && r.next(one, out.error))
            out.replies.push_back(std::move(one));
    }
    return out;
}

/// The guard's verdict on `bytes` fed whole.
std::error_code verdict(const std::string& bytes, std::size_t max_bytes = big,
                        std::size_t max_elements = many) {
    resp_guard g(max_bytes, max_elements);
    return g.check(bytes.data(), bytes.size());
}

bool same(const reply& a, const reply& b) {
    if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
        a.elements.size() != b.elements.size())
        return false;
    for (std::size_t i = 0; i < a.elements.size(); ++i)
        if (!same(a.elements[i], b.elements[i]))
            return false;
    return true;
}

std::string integers(std::size_t n) {
    std::string out = "*" + std::to_string(n) + "\r\n";
    for (std::size_t i = 0; i < n; ++i)
        out += ":1\r\n";
    return out;
}

const std::string sample = "+OK\r\n"
                           "-ERR wrong\r\n"
                           ":-42\r\n"
                           "$5\r\nhe\r\no\r\n"
                           "$-1\r\n"
                           "$0\r\n\r\n"
                           "*0\r\n"
                           "*-1\r\n"
                           "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n*2\r\n:1\r\n$1\r\nx\r\n";

} // namespace

BOOST_AUTO_TEST_SUITE(replies)

BOOST_AUTO_TEST_CASE(every_kind) {
    const auto r = read(sample);
    BOOST_REQUIRE(!r.error);
    BOOST_REQUIRE(r.replies.size() == 9u);
    BOOST_TEST((r.replies[0].type == kind::status));
    BOOST_TEST(r.replies[0].str == "OK");
    BOOST_TEST((r.replies[1].type == kind::error));
    BOOST_TEST(r.replies[1].str == "ERR wrong");
    BOOST_TEST((r.replies[2].type == kind::integer));
    BOOST_TEST(r.replies[2].integer == -42);
    BOOST_TEST((r.replies[3].type == kind::string));
    BOOST_TEST(r.replies[3].str == "he\r\no"); // a bulk string may hold CRLF
    BOOST_TEST((r.replies[4].type == kind::nil));
    BOOST_TEST((r.replies[5].type == kind::string));
    BOOST_TEST(r.replies[5].str.empty());
    BOOST_TEST((r.replies[6].type == kind::array));
    BOOST_TEST(r.replies[6].elements.empty());
    BOOST_TEST((r.replies[7].type == kind::nil));
    const auto& msg = r.replies[8];
    BOOST_REQUIRE((msg.type == kind::array));
    BOOST_REQUIRE(msg.elements.size() == 3u);
    BOOST_TEST(msg.elements[0].str == "message");
    BOOST_TEST(msg.elements[1].str == "ch");
    BOOST_REQUIRE(msg.elements[2].elements.size() == 2u);
    BOOST_TEST(msg.elements[2].elements[0].integer == 1);
    BOOST_TEST(msg.elements[2].elements[1].str == "x");
}

BOOST_AUTO_TEST_CASE(split_anywhere_same_replies) {
    const auto whole = read(sample);
    for (std::size_t piece = 1; piece <= sample.size(); ++piece) {
        BOOST_TEST_CONTEXT("pieces of " << piece) {
            const auto parts = read(sample, piece);
            BOOST_TEST(!parts.error);
            BOOST_REQUIRE(parts.replies.size() == whole.replies.size());
            for (std::size_t i = 0; i < whole.replies.size(); ++i)
                BOOST_TEST(same(parts.replies[i], whole.replies[i]));
        }
    }
}

BOOST_AUTO_TEST_CASE(an_incomplete_reply_waits) {
    resp_reader r(big, many);
    BOOST_REQUIRE(!r.feed("*2\r\n:1\r\n", 8));
    reply out;
    std::error_code ec;
    BOOST_TEST(!r.next(out, ec));
    BOOST_TEST(!ec);
    BOOST_REQUIRE(!r.feed(":2\r\n", 4));
    BOOST_REQUIRE(r.next(out, ec));
    BOOST_TEST(out.elements.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(not_resp) {
    BOOST_TEST((verdict("?what\r\n") == errc::protocol_error));                    // unknown type
    BOOST_TEST((verdict("+OK\n") == errc::protocol_error));                        // LF without CR
    BOOST_TEST((verdict("$abc\r\n") == errc::protocol_error));                     // not a length
    BOOST_TEST((verdict("$\r\n") == errc::protocol_error));                        // no digits
    BOOST_TEST((verdict("*-5\r\n") == errc::protocol_error));                      // below -1
    BOOST_TEST((verdict("$1 \r\n") == errc::protocol_error));                      // trailing space
    BOOST_TEST((verdict("$99999999999999999999999\r\n") == errc::protocol_error)); // longer than 24 bytes
    BOOST_TEST((verdict("_\r\n") == errc::protocol_error));                        // RESP3 null
    BOOST_TEST((read(":12x\r\n").error == errc::protocol_error));                  // hiredis's own checks
}

BOOST_AUTO_TEST_CASE(declared_lengths_are_refused_before_the_payload) {
    BOOST_TEST((verdict("$999999999999\r\n") == errc::reply_too_large));
    BOOST_TEST((verdict("*2000000000\r\n") == errc::reply_too_large));
    BOOST_TEST((verdict("$2000\r\n", 1024) == errc::reply_too_large));
    BOOST_TEST((verdict("*1000\r\n", 1024) == errc::reply_too_large)); // 3 bytes per element at least
    BOOST_TEST(!verdict("$1000\r\n", 1024));
}

BOOST_AUTO_TEST_CASE(the_bytes_of_one_reply) {
    BOOST_TEST((verdict("+" + std::string(2000, 'a'), 1024) == errc::reply_too_large)); // an endless line
    const std::string two = "*2\r\n$600\r\n" + std::string(600, 'a') + "\r\n$600\r\n" + std::string(600, 'b');
    BOOST_TEST((verdict(two, 1024) == errc::reply_too_large)); // the sum of the elements
    // The count starts again with every reply.
    resp_guard g(1024, many);
    const std::string one = "$600\r\n" + std::string(600, 'a') + "\r\n";
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(!g.check(one.data(), one.size()));
    BOOST_TEST(g.replies() == 5u);
    BOOST_TEST(g.reply_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(the_replies_before_a_refused_one_are_handed_out_first) {
    // Two small replies and the start of one too large, in one read: the two go to their commands, then the
    // error (so the refused reply's command is the one that gets it).
    const std::string bytes = "+OK\r\n:7\r\n$5000\r\n" + std::string(100, 'x');
    for (const std::size_t piece : {std::size_t{0}, std::size_t{3}}) {
        const auto o = read(bytes, piece, 1024);
        BOOST_TEST(o.replies.size() == 2u);
        BOOST_TEST((o.error == errc::reply_too_large));
    }
    BOOST_TEST(read("$5000\r\n", 0, 1024).replies.empty()); // nothing before it
}

BOOST_AUTO_TEST_CASE(the_elements_of_one_reply) {
    BOOST_TEST(!verdict(integers(16), big, 16));
    BOOST_TEST((verdict(integers(17), big, 16) == errc::reply_too_large));
    // Nested arrays count together: 2 + 7 + 8 elements.
    BOOST_TEST((verdict("*2\r\n" + integers(7) + integers(8), big, 16) == errc::reply_too_large));
    BOOST_TEST(!verdict("*2\r\n" + integers(7) + integers(7), big, 16));
    resp_guard g(big, 16);
    const std::string head = "*2\r\n*7\r\n";
    BOOST_REQUIRE(!g.check(head.data(), head.size()));
    BOOST_TEST(g.reply_elements() == 9u);
}

BOOST_AUTO_TEST_CASE(what_elements_cost_follows_the_bytes_sent) {
    // 80 bytes counted per element: 1 MiB plus 8 times the bytes sent so far.
    const std::size_t free_elements = resp_guard::element_allowance / resp_guard::element_cost;
    BOOST_TEST(!verdict("*" + std::to_string(free_elements - 1) + "\r\n"));
    BOOST_TEST((verdict("*15000\r\n") == errc::reply_too_large));
    // Once 200 KB of the reply arrived, the same array may follow.
    BOOST_TEST(!verdict("*2\r\n$200000\r\n" + std::string(200000, 'a') + "\r\n*15000\r\n"));
}

BOOST_AUTO_TEST_CASE(nesting) {
    std::string ok;
    for (std::size_t i = 0; i < sio::redis_detail::max_reply_nesting; ++i)
        ok += "*1\r\n";
    ok += ":1\r\n";
    const auto r = read(ok);
    BOOST_TEST(!r.error);
    BOOST_TEST(r.replies.size() == 1u);
    BOOST_TEST((verdict("*1\r\n" + ok) == errc::protocol_error));
}

BOOST_AUTO_TEST_CASE(split_anywhere_same_verdict) {
    const std::string cases[] = {"*3\r\n$3\r\nabc\r\n:1\r\n*1\r\n+x\r\n", "$2000\r\n", "+abc\nx",
                                 "*2\r\n" + integers(7) + integers(8), "$3\r\nab"};
    for (const auto& bytes : cases) {
        const auto whole = verdict(bytes, 1024, 16);
        for (std::size_t piece = 1; piece < bytes.size(); ++piece) {
            BOOST_TEST_CONTEXT("case " << bytes.substr(0, 12) << ", pieces of " << piece) {
                resp_guard g(1024, 16);
                std::error_code ec;
                for (std::size_t at = 0; at < bytes.size() && !ec; at += piece)
                    ec = g.check(bytes.data() + at, std::min(piece, bytes.size() - at));
                BOOST_TEST((ec == whole));
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
