#include <sio/protocol/packet.hpp>
#include <sio/protocol/parser.hpp>
#include <sio/value.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace sio::protocol;

namespace {

std::error_code decode(std::string_view text, packet& p, std::size_t& expected, parser_limits limits = {}) {
    return decode_text(text, limits, p, expected);
}

std::error_code decode(std::string_view text) {
    packet p;
    std::size_t expected = 0;
    return decode(text, p, expected);
}

} // namespace

BOOST_AUTO_TEST_CASE(round_trips) {
    const std::vector<std::string> samples{
        "0",
        "0{\"token\":\"123\"}",
        "0/admin,{\"token\":\"abc\"}",
        "1/admin,",
        "2[\"hello\",1,\"2\",{\"3\":[true]}]",
        "2/chat,12[\"msg\",\"hi\"]",
        "3456[1,\"2\",{\"3\":[false]}]",
        "4{\"message\":\"no\"}",
        "51-[\"bin\",{\"_placeholder\":true,\"num\":0}]",
        "62-/nsp,7[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]",
    };
    for (const auto& text : samples) {
        BOOST_TEST_CONTEXT(text) {
            packet p;
            std::size_t expected = 0;
            BOOST_TEST(!decode(text, p, expected));
            p.attachments.assign(expected, "x");
            std::string again;
            encode_text(p, again);
            BOOST_TEST(again == text);
        }
    }
}

BOOST_AUTO_TEST_CASE(fields) {
    packet p;
    std::size_t expected = 0;
    BOOST_TEST(!decode("2/chat,12[\"msg\",\"hi\"]", p, expected));
    BOOST_TEST(int(p.type) == int(packet_type::event));
    BOOST_TEST(p.nsp == "/chat");
    BOOST_TEST(p.id.value() == 12u);
    BOOST_TEST(boost::json::serialize(p.data) == "[\"msg\",\"hi\"]");

    BOOST_TEST(!decode("0/random", p, expected)); // a namespace without comma
    BOOST_TEST(p.nsp == "/random");
    BOOST_TEST(p.data.is_null());
}

// Every malformed packet of docs/hostile-input.md ("Socket.IO packets") is refused with a precise reason.
BOOST_AUTO_TEST_CASE(malformed_packets) {
    struct row {
        std::string text;
        parse_error expected;
    };
    const std::vector<row> rows{
        {"", parse_error::empty},
        {"7", parse_error::unknown_type},
        {"x", parse_error::unknown_type},
        {"abc", parse_error::unknown_type},
        {"0\"s\"", parse_error::invalid_payload}, // CONNECT payload not an object
        {"0[]", parse_error::invalid_payload},
        {"0null", parse_error::invalid_payload},
        {"2{}", parse_error::invalid_payload}, // EVENT payload not an array
        {"2[]", parse_error::invalid_payload},
        {"2[{\"toString\":\"foo\"}]", parse_error::invalid_payload}, // event name not a string or number
        {"2[null]", parse_error::invalid_payload},
        {"2[true]", parse_error::invalid_payload},
        {"2[\"connect\"]", parse_error::reserved_event}, // reserved event name
        {"2[\"newListener\"]", parse_error::reserved_event},
        {"2[\"disconnecting\"]", parse_error::reserved_event},
        {"2", parse_error::invalid_payload}, // no payload: stricter than the reference
        {"2/admin,", parse_error::invalid_payload},
        {"3", parse_error::invalid_payload}, // ACK without payload
        {"3{}", parse_error::invalid_payload},
        {"2abc[\"x\"]", parse_error::invalid_json},                     // non-numeric ack id
        {"2999999999999999999999[\"x\"]", parse_error::invalid_ack_id}, // ack id over 2^53 - 1
        {"29007199254740992[\"x\"]", parse_error::invalid_ack_id},
        {"5-[\"x\"]", parse_error::illegal_attachments}, // attachment count malformed
        {"50-[\"x\"]", parse_error::illegal_attachments},
        {"5a-[\"x\"]", parse_error::illegal_attachments},
        {"51.23-[\"x\"]", parse_error::illegal_attachments},
        {"5[\"x\"]", parse_error::illegal_attachments},
        {"6", parse_error::illegal_attachments},
        {"511-[\"x\"]", parse_error::too_many_attachments}, // over max_attachments
        {"5 1-[\"x\"]", parse_error::illegal_attachments},  // lax numbers
        {"51e0-[\"x\"]", parse_error::illegal_attachments},
        {"50x1-[\"x\"]", parse_error::illegal_attachments},
        {"51-[\"x\",{\"_placeholder\":true,\"num\":1}]",
         parse_error::illegal_attachments}, // placeholder out of range
        {"51-[\"x\",{\"_placeholder\":true,\"num\":-1}]", parse_error::illegal_attachments},
        {"51-[\"x\",{\"_placeholder\":true,\"num\":\"splice\"}]", parse_error::illegal_attachments},
        {"2[\"x\",\"\xff\"]", parse_error::invalid_json}, // invalid UTF-8
        {"2[\"x\"] trailing", parse_error::invalid_json},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.text) {
            BOOST_TEST(decode(r.text) == make_error_code(r.expected));
        }
    }
}

BOOST_AUTO_TEST_CASE(accepted_edge_cases) {
    BOOST_TEST(!decode("2[\"error\"]")); // plain names, no special keys
    BOOST_TEST(!decode("2[\"__proto__\"]"));
    BOOST_TEST(!decode("2[42]"));                    // numeric event names
    BOOST_TEST(!decode("29007199254740991[\"x\"]")); // 2^53 - 1
    BOOST_TEST(!decode("0/ns with spaces?q,{}"));
}

// A number past a double's range (`1e400`) parses to infinity, as JavaScript's JSON.parse does. Encoding it
// again must give JSON that parses, written the way JSON.stringify writes infinity and NaN: `null`.
BOOST_AUTO_TEST_CASE(non_finite_numbers_encode_as_null) {
    packet p;
    std::size_t expected = 0;
    BOOST_REQUIRE(!decode("23[\"n\",555555555955555555555555555555555e555555,-1e400,{\"a\":[1e999]},1.5]", p,
                          expected));
    BOOST_TEST(std::isinf(p.data.at(1).as_double()));
    std::string text;
    encode_text(p, text);
    BOOST_TEST(text == "23[\"n\",null,null,{\"a\":[null]},1.5E0]");
    packet again;
    BOOST_TEST(!decode(text, again, expected));

    boost::json::value v{std::nan(""), "NaN and Infinity in a string stay", 2};
    std::string out = "x";
    append_json(v, out);
    BOOST_TEST(out == "x[null,\"NaN and Infinity in a string stay\",2]");

    // An infinite event name is refused: it would encode as `null`, which is no event name.
    BOOST_TEST(decode("23[555555555955555555555555555555555e555555]") == parse_error::invalid_payload);
    BOOST_TEST(!decode("2[1.5]"));
}

BOOST_AUTO_TEST_CASE(json_depth_is_capped) {
    std::string deep = "2[\"x\",";
    for (int i = 0; i < 200; ++i)
        deep += "[";
    for (int i = 0; i < 200; ++i)
        deep += "]";
    deep += "]";
    BOOST_TEST(decode(deep) == make_error_code(parse_error::invalid_json));
    parser_limits wide;
    wide.max_depth = 1000;
    packet p;
    std::size_t expected = 0;
    BOOST_TEST(!decode(deep, p, expected, wide));
}

BOOST_AUTO_TEST_CASE(decoder_reassembles_attachments) {
    decoder d;
    std::optional<packet> out;
    BOOST_TEST(
        !d.on_text("52-[\"bin\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", out));
    BOOST_TEST(!out);
    BOOST_TEST(d.pending());
    BOOST_TEST(!d.on_binary(std::string("\x01\x02\x03", 3), out));
    BOOST_TEST(!out);
    BOOST_TEST(!d.on_binary(std::string("\x04\x05\x06", 3), out));
    BOOST_REQUIRE(out);
    BOOST_TEST(out->attachments.size() == 2u);
    BOOST_TEST(out->attachments[1] == std::string("\x04\x05\x06", 3));
    BOOST_TEST(!d.pending());

    // The attachments resolve to sio::binary through the arguments.
    sio::arguments args{out->data.as_array(), out->attachments};
    BOOST_TEST(args.get<sio::binary>(1).bytes == std::string("\x01\x02\x03", 3));
}

BOOST_AUTO_TEST_CASE(decoder_state_errors) {
    decoder d;
    std::optional<packet> out;
    BOOST_TEST(d.on_binary("x", out) == make_error_code(parse_error::unexpected_binary));
    BOOST_TEST(!d.on_text("51-[\"bin\",{\"_placeholder\":true,\"num\":0}]", out));
    BOOST_TEST(d.on_text("2[\"x\"]", out) == make_error_code(parse_error::unexpected_text));
    BOOST_TEST(!d.pending());

    parser_limits small;
    small.max_attachment_bytes = 4;
    decoder capped(small);
    BOOST_TEST(!capped.on_text("51-[\"bin\",{\"_placeholder\":true,\"num\":0}]", out));
    BOOST_TEST(capped.on_binary("12345", out) == make_error_code(parse_error::attachment_too_large));
    BOOST_TEST(!capped.pending());
}

BOOST_AUTO_TEST_CASE(binary_arguments_become_attachments) {
    auto args = sio::make_arguments("text", sio::binary(std::string("\x00\x01", 2)),
                                    std::vector<sio::binary>{sio::binary("a"), sio::binary("b")});
    BOOST_TEST(args.attachments.size() == 3u);
    BOOST_TEST(boost::json::serialize(args.values) ==
               "[\"text\",{\"_placeholder\":true,\"num\":0},[{\"_placeholder\":true,\"num\":1},"
               "{\"_placeholder\":true,\"num\":2}]]");
    packet p;
    p.type = packet_type::event;
    p.data = boost::json::array{"ev"};
    for (auto& v : args.values)
        p.data.as_array().push_back(v);
    p.attachments = args.attachments;
    const auto e = encode(p);
    BOOST_TEST(e.text->starts_with("53-[\"ev\""));
    BOOST_TEST(e.attachments.size() == 3u);
}
