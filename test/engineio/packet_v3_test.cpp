// Tests of the Engine.IO v3 codec (no I/O): the length-prefixed text payload (lengths in UTF-16 code
// units), `b4` + base64 binary, the binary payload of clients that read binary, the binary WebSocket frame
// with its type byte, and the malformed inputs: attacker-controlled lengths, the packet cap, bad markers.
#include <sio/engineio/packet_v3.hpp>
#include <sio/error.hpp>

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
std::ostream& operator<<(std::ostream& os, packet_type t) {
    return os << static_cast<int>(t);
}
std::ostream& operator<<(std::ostream& os, const packet& p) {
    return os << "{type " << p.type << (p.binary ? ", binary" : "") << ", " << p.data.size() << " bytes}";
}
} // namespace sio::engineio

namespace {
packet text(packet_type t, std::string data = {}) {
    return packet{t, false, std::move(data)};
}
packet bin(std::string data) {
    return packet{packet_type::message, true, std::move(data)};
}
} // namespace

BOOST_AUTO_TEST_CASE(text_payload_as_the_reference_writes_it) {
    // Node's engine.io with allowEIO3 answers the handshake GET and a message like this.
    BOOST_TEST(v3::encode_payload({text(packet_type::message, "hello"), text(packet_type::pong)}) ==
               "6:4hello1:3");
    BOOST_TEST(v3::encode_payload({}) == "0:");
    BOOST_TEST(v3::encode_payload({bin("\x01\x02\x03"s)}) == "6:b4AQID");
}

BOOST_AUTO_TEST_CASE(lengths_count_utf16_code_units) {
    // "é" is 2 bytes, 1 unit; "😀" is 4 bytes, 2 units (a surrogate pair in JavaScript).
    BOOST_TEST(v3::utf16_length("h\xc3\xa9") == 2u);
    BOOST_TEST(v3::utf16_length("\xf0\x9f\x98\x80") == 2u);
    BOOST_TEST(v3::encode_payload({text(packet_type::message, "\xc3\xa9\xf0\x9f\x98\x80")}) ==
               "4:4\xc3\xa9\xf0\x9f\x98\x80");
    std::vector<packet> out;
    BOOST_TEST(!v3::decode_payload("4:4\xc3\xa9\xf0\x9f\x98\x80"
                                   "1:2",
                                   10, out));
    BOOST_TEST_REQUIRE(out.size() == 2u);
    BOOST_TEST(out[0] == text(packet_type::message, "\xc3\xa9\xf0\x9f\x98\x80"));
    BOOST_TEST(out[1] == text(packet_type::ping));
}

BOOST_AUTO_TEST_CASE(decodes_text_payloads) {
    std::vector<packet> out;
    BOOST_TEST(!v3::decode_payload("1:26:4hello0:6:b4AQID", 10, out));
    BOOST_TEST_REQUIRE(out.size() == 3u); // the empty record is skipped
    BOOST_TEST(out[0] == text(packet_type::ping));
    BOOST_TEST(out[1] == text(packet_type::message, "hello"));
    BOOST_TEST(out[2] == bin("\x01\x02\x03"s));
}

BOOST_DATA_TEST_CASE(malformed_text_payloads_are_parse_errors,
                     bdata::make({""s, "4hello"s, ":4"s, "1:"s, "2:4"s, "6:4hello1"s, "1x:4"s, "1:9"s,
                                  "3:b4!!"s, "2:b9"s, "99999999999:4"s, "18446744073709551617:4"s,
                                  "1:4\xf0\x9f\x98\x80"s, "2:\xff\xfe"s}),
                     payload) {
    std::vector<packet> out;
    BOOST_TEST(v3::decode_payload(payload, 10, out) == sio::error::parse_error);
}

BOOST_AUTO_TEST_CASE(packets_before_a_bad_record_are_kept) {
    std::vector<packet> out;
    BOOST_TEST(v3::decode_payload("1:21:9", 10, out) == sio::error::parse_error);
    BOOST_TEST(out.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_packet_cap_applies_to_both_framings) {
    std::string payload;
    std::string binary;
    for (int i = 0; i < 5; ++i) {
        payload += "1:2";
        v3::append_binary_payload_record(binary, packet_type::ping, false, {});
    }
    std::vector<packet> out;
    BOOST_TEST(!v3::decode_payload(payload, 5, out));
    out.clear();
    BOOST_TEST(v3::decode_payload(payload, 4, out) == sio::error::too_many_packets);
    out.clear();
    BOOST_TEST(!v3::decode_binary_payload(binary, 5, out));
    out.clear();
    BOOST_TEST(v3::decode_binary_payload(binary, 4, out) == sio::error::too_many_packets);
}

BOOST_AUTO_TEST_CASE(binary_payload_layout) {
    // A text record: marker 0, the digits of the UTF-8 length as byte values, 255, the packet text. A
    // binary record: marker 1, the length of type byte + data, 255, the type byte, the data.
    const std::string encoded =
        v3::encode_binary_payload({text(packet_type::message, "hello"), bin("\x01\x02"s)});
    BOOST_TEST(encoded == "\x00\x06\xff"
                          "4hello"
                          "\x01\x03\xff\x04\x01\x02"s);
    std::vector<packet> out;
    BOOST_TEST(!v3::decode_binary_payload(encoded, 10, out));
    BOOST_TEST_REQUIRE(out.size() == 2u);
    BOOST_TEST(out[0] == text(packet_type::message, "hello"));
    BOOST_TEST(out[1] == bin("\x01\x02"s));
    // A length of several digits.
    const std::string big(300, 'x');
    out.clear();
    BOOST_TEST(!v3::decode_binary_payload(v3::encode_binary_payload({bin(big)}), 10, out));
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].data == big);
}

BOOST_DATA_TEST_CASE(malformed_binary_payloads_are_parse_errors,
                     bdata::make({""s, "\x02\x01\xff\x04"s, "\x00\xff"s, "\x00\x01"s, "\x00\x05\xff\x34"s,
                                  "\x01\x01\xff\x09"s, "\x00\x02\xff\x34\xff"s, "\x00\x0a\xff"s,
                                  "\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xff"s}),
                     payload) {
    std::vector<packet> out;
    BOOST_TEST(v3::decode_binary_payload(payload, 10, out) == sio::error::parse_error);
}

BOOST_AUTO_TEST_CASE(websocket_binary_frames_carry_the_type_byte) {
    packet p;
    BOOST_TEST(!v3::decode_binary_packet("\x04\x01\x02"s, p));
    BOOST_TEST(p == bin("\x01\x02"s));
    BOOST_TEST(v3::decode_binary_packet(""s, p) == sio::error::parse_error);
    BOOST_TEST(v3::decode_binary_packet("\x07"s, p) == sio::error::parse_error);
    BOOST_TEST(!v3::decode_packet("4hi", p));
    BOOST_TEST(p == text(packet_type::message, "hi"));
    BOOST_TEST(!v3::decode_packet("b4AQI=", p));
    BOOST_TEST(p == bin("\x01\x02"s));
    BOOST_TEST(v3::decode_packet("b", p) == sio::error::parse_error);
    BOOST_TEST(v3::decode_packet("bx", p) == sio::error::parse_error);
    BOOST_TEST(v3::decode_packet("7", p) == sio::error::parse_error);
}
