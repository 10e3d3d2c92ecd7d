// Table-driven tests of the Engine.IO v4 packet codec (no I/O): single packets, polling payloads, the
// open packet, and every malformed input of docs/hostile-input.md that reaches the codec (bad payloads,
// invalid base64 and UTF-8, the packet cap, empty or unknown packets).
#include <sio/engineio/packet.hpp>
#include <sio/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

using namespace sio::engineio;
using namespace std::string_literals;
namespace bdata = boost::unit_test::data;

namespace sio::engineio {
// Boost.Test prints values of failed comparisons.
std::ostream& operator<<(std::ostream& os, packet_type t) {
    return os << static_cast<int>(t);
}
std::ostream& operator<<(std::ostream& os, const packet& p) {
    os << "{type " << p.type << (p.binary ? ", binary" : "") << ", " << p.data.size() << " bytes}";
    return os;
}
} // namespace sio::engineio

namespace {

packet text(packet_type t, std::string data = {}) {
    return packet{t, false, std::move(data)};
}
packet binary(std::string data) {
    return packet{packet_type::message, true, std::move(data)};
}

/// Records joined with the record separator, as in a polling payload.
std::string join(std::initializer_list<std::string_view> records) {
    std::string out;
    for (auto it = records.begin(); it != records.end(); ++it) {
        if (it != records.begin())
            out.push_back(record_separator);
        out.append(*it);
    }
    return out;
}

std::string all_bytes() {
    std::string s;
    for (int i = 0; i < 256; ++i)
        s.push_back(static_cast<char>(i));
    return s;
}

// base64 of the bytes 0..255 (computed independently, with Python's base64 module).
const std::string all_bytes_base64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ"
                                     "1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9Q"
                                     "UVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+"
                                     "AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch"
                                     "oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/"
                                     "wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy"
                                     "8/T19vf4+fr7/P3+/w==";

struct decode_case {
    std::string input;
    packet expected;
};
std::ostream& operator<<(std::ostream& os, const decode_case& c) {
    return os << "input of " << c.input.size() << " bytes";
}

const std::vector<decode_case> valid_packets{
    {"0", text(packet_type::open)},
    {R"(0{"sid":"x"})", text(packet_type::open, R"({"sid":"x"})")},
    {"1", text(packet_type::close)},
    {"2", text(packet_type::ping)},
    {"2probe", text(packet_type::ping, "probe")},
    {"3", text(packet_type::pong)},
    {"3probe", text(packet_type::pong, "probe")},
    {"4", text(packet_type::message)}, // an empty message (the Socket.IO layer rejects it)
    {"4hello", text(packet_type::message, "hello")},
    {join({"4a", "4b"}), text(packet_type::message, join({"a", "4b"}))}, // one packet, not split
    {"4h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
     text(packet_type::message, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80")},
    {"44", text(packet_type::message, "4")},
    {"4b", text(packet_type::message, "b")},
    {"5", text(packet_type::upgrade)},
    {"6", text(packet_type::noop)},
    {"b", binary("")},
    {"bAQID", binary("\x01\x02\x03")},
    {"bAA==", binary("\0"s)},
    {"bAAA=", binary("\0\0"s)},
    {"bAAAA", binary("\0\0\0"s)},
    {"b//79", binary("\xff\xfe\xfd")},
    {"bAQ", binary("\x01")},      // unpadded
    {"bAQI", binary("\x01\x02")}, // unpadded
    {"bAQ==", binary("\x01")},
    {"bZm9vYmFy", binary("foobar")},
    {"b" + all_bytes_base64, binary(all_bytes())},
};

BOOST_DATA_TEST_CASE(decode_valid_packet, bdata::make(valid_packets), c) {
    packet p{packet_type::noop, true, "garbage"};
    BOOST_TEST(!decode_packet(c.input, p));
    BOOST_TEST(p == c.expected);
}

// RFC 4648 §10 test vectors, both ways.
struct base64_case {
    std::string bytes;
    std::string encoded;
};
std::ostream& operator<<(std::ostream& os, const base64_case& c) {
    return os << c.encoded;
}
const std::vector<base64_case> rfc4648{
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
    {"\xff\xfe\x00"s, "//4A"},
    {all_bytes(), all_bytes_base64},
};

BOOST_DATA_TEST_CASE(binary_base64_both_ways, bdata::make(rfc4648), c) {
    BOOST_TEST(encode_text(binary(c.bytes)) == "b" + c.encoded);
    packet p;
    BOOST_TEST_REQUIRE(!decode_packet("b" + c.encoded, p));
    BOOST_TEST(p.binary);
    BOOST_TEST(p.type == packet_type::message);
    BOOST_TEST(p.data == c.bytes);
}

BOOST_AUTO_TEST_CASE(every_single_byte_value_round_trips_as_binary) {
    for (int i = 0; i < 256; ++i) {
        const packet in =
            binary(std::string(1, static_cast<char>(i)) + std::string(static_cast<std::size_t>(i % 4), 'z'));
        packet out;
        BOOST_TEST_REQUIRE(!decode_packet(encode_text(in), out));
        BOOST_TEST(out == in, "byte " << i);
    }
}

const std::vector<std::string> malformed_packets{
    "",  // empty
    "7", // unknown type
    "8",         "9", "x", "/", ":", " 4", "\x00"s + "4", "B", "\xff",
    "b!!!",      // invalid base64, rejected instead of skipped
    "b@@AQ",     // invalid base64
    "bA",        // impossible length
    "bAAAAA",    // impossible length
    "bAQ=",      // bad padding
    "bA===",     // too much padding
    "b====",     // padding only
    "b=AQ=",     // padding first
    "bAQ==AQ==", // padding in the middle
    "bAQ=I",     // data after padding
    "bAQ\n",     // whitespace
    "bAQ I",     // whitespace
    "b-_8",      // base64url is not the polling alphabet
    "b\xc3\xa9", // non-ASCII
};

BOOST_DATA_TEST_CASE(decode_malformed_packet, bdata::make(malformed_packets), input) {
    packet p;
    BOOST_TEST((decode_packet(input, p) == sio::error::parse_error));
}

// Every packet type, text and binary, survives encode_text → decode_packet.
BOOST_AUTO_TEST_CASE(round_trip_every_packet_type) {
    for (int t = 0; t <= 6; ++t) {
        for (const std::string& data : {""s, "x"s, "probe"s, R"({"a":[1,2]})"s, "\x1e"s, "\xe2\x82\xac"s}) {
            const packet in = text(static_cast<packet_type>(t), data);
            const std::string wire = encode_text(in);
            BOOST_TEST(wire == std::string(1, static_cast<char>('0' + t)) + data);
            packet out;
            BOOST_TEST_REQUIRE(!decode_packet(wire, out));
            BOOST_TEST(out == in);
        }
    }
}

BOOST_AUTO_TEST_CASE(append_text_appends) {
    std::string out = "prefix|";
    append_text(out, packet_type::message, false, "hi");
    append_text(out, packet_type::message, true, "hi");
    append_text(out, packet_type::ping, false, {});
    BOOST_TEST(out == "prefix|4hibaGk=2");
}

// --- payloads ----------------------------------------------------------------------------------------

struct payload_case {
    std::string name;
    std::string payload;
    std::vector<packet> expected; // appended to `out`, also when the payload is bad
    std::error_code error;
};
std::ostream& operator<<(std::ostream& os, const payload_case& c) {
    return os << c.name;
}

const auto msg = [](std::string data) { return text(packet_type::message, std::move(data)); };
const auto err = sio::make_error_code(sio::error::parse_error);

const std::vector<payload_case> payloads{
    {"single", "4hello", {msg("hello")}, {}},
    {"two", join({"4hello", "4world"}), {msg("hello"), msg("world")}, {}},
    {"mixed text and binary",
     join({"4a", "bAQID", "2", "6", "b"}),
     {msg("a"), binary("\x01\x02\x03"), text(packet_type::ping), text(packet_type::noop), binary("")},
     {}},
    {"empty message records", join({"4", "4"}), {msg(""), msg("")}, {}},
    {"utf-8", join({"4\xc3\xa9", "4\xf0\x9f\x98\x80"}), {msg("\xc3\xa9"), msg("\xf0\x9f\x98\x80")}, {}},
    // The packets before the bad record are returned together with the error.
    {"empty payload", "", {}, err},
    {"abc", "abc", {}, err},
    {"unknown type first", join({"7", "4a"}), {}, err},
    {"unknown type in the middle", join({"4a", "7", "4b"}), {msg("a")}, err},
    {"x in the middle", join({"4a", "4b", "x", "4c"}), {msg("a"), msg("b")}, err},
    {"bad base64 in the middle", join({"4a", "b!!!", "4b"}), {msg("a")}, err},
    {"bad base64 last", join({"4a", "b@@AQ"}), {msg("a")}, err},
    {"trailing separator", join({"4hello", ""}), {msg("hello")}, err},
    {"leading separator", join({"", "4hello"}), {}, err},
    {"double separator", join({"4a", "", "4b"}), {msg("a")}, err},
    {"separator only", join({"", ""}), {}, err},
    // Invalid UTF-8 anywhere refuses the whole payload (checked before any record is decoded).
    {"invalid byte", join({"4ok", "4\xff"}), {}, err},
    {"truncated sequence", join({"4ok", "4\xe2\x82"}), {}, err},
    {"overlong encoding", "4\xc0\xaf", {}, err},
    {"surrogate", "4\xed\xa0\x80", {}, err},
    {"above U+10FFFF", "4\xf4\x90\x80\x80", {}, err},
    {"lone continuation byte", "4\x80", {}, err},
};

BOOST_DATA_TEST_CASE(decode_payload_table, bdata::make(payloads), c) {
    std::vector<packet> out;
    const auto ec = decode_payload(c.payload, 1000, out);
    BOOST_TEST((ec == c.error), c.name << ": got " << ec.message());
    BOOST_TEST(out == c.expected, c.name);
}

BOOST_AUTO_TEST_CASE(decode_payload_appends_to_out) {
    std::vector<packet> out{text(packet_type::noop)};
    BOOST_TEST(!decode_payload("4a", 10, out));
    BOOST_TEST(out == (std::vector<packet>{text(packet_type::noop), text(packet_type::message, "a")}));
}

// The number of records is capped; the records up to the cap are returned.
BOOST_AUTO_TEST_CASE(decode_payload_packet_cap) {
    std::vector<packet> out;
    BOOST_TEST(!decode_payload(join({"6", "6", "6"}), 3, out));
    BOOST_TEST(out.size() == 3u);

    out.clear();
    BOOST_TEST((decode_payload(join({"6", "6", "6", "6"}), 3, out) == sio::error::too_many_packets));
    BOOST_TEST(out.size() == 3u);

    out.clear();
    BOOST_TEST((decode_payload("6", 0, out) == sio::error::too_many_packets));
    BOOST_TEST(out.empty());

    // ~1 MB of tiny packets against the default cap.
    std::string flood;
    for (int i = 0; i < 333'333; ++i)
        flood += join({"6", ""});
    flood += "6";
    out.clear();
    const std::size_t cap = sio::engine_options{}.max_packets_per_payload;
    BOOST_TEST((decode_payload(flood, cap, out) == sio::error::too_many_packets));
    BOOST_TEST(out.size() == cap);
}

BOOST_AUTO_TEST_CASE(encode_payload_table) {
    BOOST_TEST(encode_payload({}) == "");
    BOOST_TEST(encode_payload({text(packet_type::message, "a")}) == "4a");
    BOOST_TEST(encode_payload({text(packet_type::message, "a"), binary("\x01\x02\x03"),
                               text(packet_type::ping), text(packet_type::message)}) ==
               join({"4a", "bAQID", "2", "4"}));
    BOOST_TEST(encode_payload({binary(""), binary("")}) == join({"b", "b"}));
}

BOOST_AUTO_TEST_CASE(payload_round_trip) {
    const std::vector<std::vector<packet>> cases{
        {text(packet_type::message, "x")},
        {text(packet_type::open, R"({"sid":"s"})"), text(packet_type::ping), text(packet_type::pong, "probe"),
         text(packet_type::message, "\xe2\x82\xac"), text(packet_type::upgrade), text(packet_type::noop),
         text(packet_type::close)},
        {binary(all_bytes()), text(packet_type::message), binary("")},
    };
    for (const auto& in : cases) {
        std::vector<packet> out;
        BOOST_TEST_REQUIRE(!decode_payload(encode_payload(in), 100, out));
        BOOST_TEST(out == in);
    }
}

// --- the open packet -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(encode_open_defaults) {
    open_data d;
    d.sid = "abc";
    d.upgrades = {"websocket"};
    BOOST_TEST(
        encode_open(d) ==
        R"(0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");
}

BOOST_AUTO_TEST_CASE(encode_open_values) {
    open_data d;
    d.sid = "a\"b\\c";
    d.ping_interval_ms = 300;
    d.ping_timeout_ms = 200;
    d.max_payload = 42;
    const std::string wire = encode_open(d);
    BOOST_TEST_REQUIRE(wire.front() == '0');
    packet p;
    BOOST_TEST_REQUIRE(!decode_packet(wire, p));
    BOOST_TEST(p.type == packet_type::open);
    const auto v = boost::json::parse(p.data).as_object();
    BOOST_TEST(v.at("sid").as_string() == "a\"b\\c");
    BOOST_TEST(v.at("upgrades").as_array().empty());
    BOOST_TEST(v.at("pingInterval").to_number<std::int64_t>() == 300);
    BOOST_TEST(v.at("pingTimeout").to_number<std::int64_t>() == 200);
    BOOST_TEST(v.at("maxPayload").to_number<std::int64_t>() == 42);
    BOOST_TEST(v.size() == 5u);
}

} // namespace
