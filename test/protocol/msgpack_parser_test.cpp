#include <sio/protocol/codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace sio::protocol;
namespace json = boost::json;

namespace {

std::string unhex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

packet make(packet_type type, std::string nsp, std::string_view data_json,
            std::optional<std::uint64_t> id = {}, std::vector<std::string> attachments = {}) {
    packet p;
    p.type = type;
    p.nsp = std::move(nsp);
    p.id = id;
    if (!data_json.empty())
        p.data = json::parse(data_json);
    p.attachments = std::move(attachments);
    return p;
}

std::string ph(int n) {
    return R"({"_placeholder":true,"num":)" + std::to_string(n) + "}";
}

std::error_code decode(std::string_view hex_bytes, packet& p, parser_limits limits = {}) {
    return decode_msgpack(unhex(hex_bytes), limits, p);
}

std::error_code decode_bytes(std::string_view bytes, parser_limits limits = {}) {
    packet p;
    return decode_msgpack(bytes, limits, p);
}

/// A map {type: 2, data: <data bytes>, nsp: "/"} around already-encoded data.
std::string event_with_data(std::string_view data_bytes) {
    return unhex("83a47479706502a464617461") + std::string(data_bytes) + unhex("a36e7370a12f");
}

std::string nested_arrays(std::size_t levels) { // ["e", [[...]]] with `levels` arrays in all
    std::string out = unhex("92a165");
    for (std::size_t i = 1; i < levels; ++i)
        out.push_back(static_cast<char>(i + 1 < levels ? 0x91 : 0x90));
    return out;
}

} // namespace

// Captured from socket.io 4.8.1 with socket.io-msgpack-parser 3.0.2 (its server side, over WebSocket):
// the bytes sio must write for the same packets.
BOOST_AUTO_TEST_CASE(encodes_as_the_reference_server_does) {
    struct sample {
        packet p;
        std::string bytes;
    };
    const std::vector<sample> samples{
        {make(packet_type::ack, "/", R"(["ok",{"n":1}])", 0),
         "84a2696400a47479706503a46461746192a26f6b81a16e01a36e7370a12f"},
        {make(packet_type::event, "/", R"(["ask",1])", 0),
         "84a47479706502a46461746192a361736b01a2696400a36e7370a12f"},
        {make(packet_type::event, "/", R"(["bin",)" + ph(0) + "," + ph(1) + "]", {},
              {"\x09\x08", "\x01\x02\x03"}),
         "83a47479706502a46461746193a362696ec4020908c403010203a36e7370a12f"},
        {make(packet_type::event, "/",
              R"(["nums",1.5,-1,300,70000,5000000000,-200,true,null,")" + std::string(40, 'x') + "\"]"),
         "83a47479706502a4646174619aa46e756d73cb3ff8000000000000ffcd012cce00011170cf000000012a05f200d1ff38c3c"
         "0d928" +
             hex(std::string(40, 'x')) + "a36e7370a12f"},
        {make(packet_type::connect_error, "/deny", R"({"message":"not allowed","data":{"code":42}})"),
         "83a47479706504a46461746182a76d657373616765ab6e6f7420616c6c6f776564a46461746181a4636f64652aa36e7370a"
         "52f"
         "64656e79"},
        {make(packet_type::disconnect, "/", ""), "82a47479706501a36e7370a12f"},
    };
    for (const auto& s : samples) {
        BOOST_TEST_CONTEXT(s.bytes) {
            BOOST_TEST(hex(encode_msgpack(s.p)) == s.bytes);
            // The codec sends it as one binary message, no text.
            const auto e = msgpack_parser()->encode(s.p);
            BOOST_TEST(!e.text);
            BOOST_TEST_REQUIRE(e.attachments.size() == 1u);
            BOOST_TEST(hex(*e.attachments.front()) == s.bytes);
        }
    }
    // binary_event and binary_ack are EVENT and ACK on this wire.
    auto binary_ack = make(packet_type::binary_ack, "/", "[" + ph(0) + "]", 4, {"z"});
    BOOST_TEST(hex(encode_msgpack(binary_ack)) == "84a2696404a47479706503a46461746191c4017aa36e7370a12f");
}

// Captured from socket.io-client 4.8.1 with socket.io-msgpack-parser 3.0.2: what a Node client sends.
BOOST_AUTO_TEST_CASE(decodes_what_the_reference_client_sends) {
    packet p;
    // CONNECT without auth: `data: undefined` (d4 00 00) is no data.
    BOOST_TEST_REQUIRE(!decode("83a47479706500a464617461d40000a36e7370a12f", p));
    BOOST_TEST(int(p.type) == int(packet_type::connect));
    BOOST_TEST(p.nsp == "/");
    BOOST_TEST(p.data.is_null());
    // CONNECT with auth to a namespace.
    BOOST_TEST_REQUIRE(!decode("83a47479706500a46461746181a5746f6b656ea174a36e7370a52f64656e79", p));
    BOOST_TEST(p.nsp == "/deny");
    BOOST_TEST(json::serialize(p.data) == R"({"token":"t"})");
    // An EVENT with an ack id; the client's `options` key is ignored.
    BOOST_TEST_REQUIRE(!decode(
        "85a47479706502a46461746192a171a26869a76f7074696f6e7381a8636f6d7072657373c3a2696400a36e7370a12f", p));
    BOOST_TEST(int(p.type) == int(packet_type::event));
    BOOST_TEST(json::serialize(p.data) == R"(["q","hi"])");
    BOOST_TEST((p.id && *p.id == 0u));
    // Binary inline: a Buffer (bin) and a Uint8Array (ext 0, notepack 2's ArrayBuffer) become attachments.
    BOOST_TEST_REQUIRE(!decode("84a47479706502a46461746193a362696ec4020908c7010007a76f7074696f6e7381a8636f6d7"
                               "072657373c3a36e7370a12f",
                               p));
    BOOST_TEST(int(p.type) == int(packet_type::binary_event));
    BOOST_TEST(json::serialize(p.data) == R"(["bin",)" + ph(0) + "," + ph(1) + "]");
    BOOST_TEST_REQUIRE(p.attachments.size() == 2u);
    BOOST_TEST(p.attachments[0] == std::string("\x09\x08"));
    BOOST_TEST(p.attachments[1] == std::string("\x07"));
    // An ACK.
    BOOST_TEST_REQUIRE(!decode("84a47479706503a2696400a46461746191a3796573a36e7370a12f", p));
    BOOST_TEST(int(p.type) == int(packet_type::ack));
    BOOST_TEST((p.id && *p.id == 0u));
    BOOST_TEST(json::serialize(p.data) == R"(["yes"])");
    // DISCONNECT.
    BOOST_TEST_REQUIRE(!decode("82a47479706501a36e7370a12f", p));
    BOOST_TEST(int(p.type) == int(packet_type::disconnect));
    // The reference server's CONNECT answer ({sid, pid: undefined}) decodes too.
    BOOST_TEST_REQUIRE(
        !decode("83a47479706500a46461746182a3736964b46348576a44676d6f416c55476c31736c41414141a370"
                "6964d40000a36e7370a12f",
                p));
    BOOST_TEST(json::serialize(p.data) == R"({"sid":"cHWjDgmoAlUGl1slAAAA"})");
}

BOOST_AUTO_TEST_CASE(round_trips) {
    const std::vector<packet> samples{
        make(packet_type::connect, "/", ""),
        make(packet_type::connect, "/admin", R"({"token":"abc","n":[1,2.5,-3]})"),
        make(packet_type::disconnect, "/admin", ""),
        make(packet_type::event, "/", R"(["hello",1,"2",{"3":[true,null]}])"),
        make(packet_type::event, "/chat", R"(["msg","hi"])", 12),
        make(packet_type::ack, "/", R"([1,"2",{"3":[false]}])", 3456),
        make(packet_type::connect_error, "/", R"({"message":"no"})"),
        make(packet_type::connect_error, "/", R"("plain text")"),
        make(packet_type::binary_event, "/", R"(["bin",)" + ph(0) + "]", {}, {std::string(300, '\0')}),
        make(packet_type::binary_ack, "/nsp", "[" + ph(0) + "," + ph(1) + "]", 7,
             {"a", std::string(70000, 'b')}),
        make(packet_type::event, "/", R"(["max id"])", max_ack_id),
    };
    for (const auto& in : samples) {
        BOOST_TEST_CONTEXT(json::serialize(in.data)) {
            packet out;
            BOOST_TEST_REQUIRE(!decode_msgpack(encode_msgpack(in), {}, out));
            BOOST_TEST(int(out.type) == int(in.type));
            BOOST_TEST(out.nsp == in.nsp);
            BOOST_TEST((out.id == in.id));
            BOOST_TEST(json::serialize(out.data) == json::serialize(in.data));
            BOOST_TEST((out.attachments == in.attachments));
        }
    }
}

BOOST_AUTO_TEST_CASE(shapes_are_checked_as_the_reference_checks_them) {
    packet p;
    // Not a map, truncated, trailing bytes, empty, unknown formats.
    BOOST_TEST(decode_bytes("") == parse_error::empty);
    BOOST_TEST(decode("92a47479706502", p) == parse_error::invalid_msgpack);               // an array
    BOOST_TEST(decode("83a47479706502a464617461", p) == parse_error::invalid_msgpack);     // truncated
    BOOST_TEST(decode("82a47479706501a36e7370a12f00", p) == parse_error::invalid_msgpack); // trailing byte
    BOOST_TEST(decode("82a47479706501a36e7370c1", p) == parse_error::invalid_msgpack);     // c1 never used
    BOOST_TEST(decode("c0", p) == parse_error::invalid_msgpack);                           // nil
    // type: an integer 0–4 (binary types do not exist here); 2.0 is an integer to JavaScript.
    BOOST_TEST(decode("81a36e7370a12f", p) == parse_error::unknown_type);                             // none
    BOOST_TEST(decode("82a47479706505a36e7370a12f", p) == parse_error::unknown_type);                 // 5
    BOOST_TEST(decode("82a47479706506a36e7370a12f", p) == parse_error::unknown_type);                 // 6
    BOOST_TEST(decode("82a474797065ffa36e7370a12f", p) == parse_error::unknown_type);                 // -1
    BOOST_TEST(decode("82a474797065a132a36e7370a12f", p) == parse_error::unknown_type);               // "2"
    BOOST_TEST(decode("82a474797065cb3ff8000000000000a36e7370a12f", p) == parse_error::unknown_type); // 1.5
    BOOST_TEST(!decode("82a474797065cb3ff0000000000000a36e7370a12f", p));                             // 1.0
    BOOST_TEST(int(p.type) == int(packet_type::disconnect));
    // nsp: a string, required.
    BOOST_TEST(decode("81a47479706501", p) == parse_error::invalid_namespace);
    BOOST_TEST(decode("82a47479706501a36e737001", p) == parse_error::invalid_namespace);
    // id: a non-negative integer up to 2^53 - 1.
    BOOST_TEST(decode("84a47479706502a46461746191a165a26964ffa36e7370a12f", p) ==
               parse_error::invalid_ack_id);
    BOOST_TEST(decode("84a47479706502a46461746191a165a26964a131a36e7370a12f", p) ==
               parse_error::invalid_ack_id);
    BOOST_TEST(decode("84a47479706502a46461746191a165a26964cf0020000000000000a36e7370a12f", p) ==
               parse_error::invalid_ack_id); // 2^53
    BOOST_TEST(!decode("84a47479706502a46461746191a165a26964cf001fffffffffffffa36e7370a12f", p));
    BOOST_TEST(decode("84a47479706502a46461746191a165a26964c0a36e7370a12f", p) ==
               parse_error::invalid_ack_id); // nil
    // data: nil is never valid; the shape follows the type.
    BOOST_TEST(decode("83a47479706500a464617461c0a36e7370a12f", p) == parse_error::invalid_payload);
    BOOST_TEST(decode("83a47479706500a46461746191a165a36e7370a12f", p) ==
               parse_error::invalid_payload); // CONNECT []
    BOOST_TEST(decode("83a47479706501a46461746180a36e7370a12f", p) ==
               parse_error::invalid_payload);                                               // DISCONNECT {}
    BOOST_TEST(decode("82a47479706502a36e7370a12f", p) == parse_error::invalid_payload);    // EVENT, no data
    BOOST_TEST(decode_bytes(event_with_data(unhex("90"))) == parse_error::invalid_payload); // []
    BOOST_TEST(decode_bytes(event_with_data(unhex("81a16101"))) == parse_error::invalid_payload); // {}
    BOOST_TEST(decode_bytes(event_with_data(unhex("91a7636f6e6e656374"))) ==
               parse_error::reserved_event);                                             // connect
    BOOST_TEST(decode("82a47479706503a36e7370a12f", p) == parse_error::invalid_payload); // ACK, no data
    // A map in the shape of a placeholder is no binary here: refused rather than aliasing a buffer.
    BOOST_TEST(decode_bytes(event_with_data(unhex("92a16582ac5f706c616365686f6c646572c3a36e756d00"))) ==
               parse_error::illegal_attachments);
    BOOST_TEST(decode_bytes(event_with_data(unhex("93a165c4010182ac5f706c616365686f6c646572c3a36e756d00"))) ==
               parse_error::illegal_attachments);
    BOOST_TEST(decode("82a47479706504a36e7370a12f", p) == parse_error::invalid_payload); // CONNECT_ERROR
}

// Every cap of the JSON parser has its twin here.
BOOST_AUTO_TEST_CASE(caps) {
    // Depth: `data` nests as deep as JSON may (128 levels, the outer array included), in both parsers.
    const parser_limits limits;
    BOOST_TEST(!decode_bytes(event_with_data(nested_arrays(limits.max_depth))));
    BOOST_TEST(decode_bytes(event_with_data(nested_arrays(limits.max_depth + 1))) ==
               parse_error::invalid_msgpack);
    BOOST_TEST(decode_bytes(event_with_data(nested_arrays(100000))) == parse_error::invalid_msgpack);
    {
        packet p;
        std::size_t expected = 0;
        const auto json_of = [](std::size_t levels) {
            return "2[\"e\"," + std::string(levels - 1, '[') + std::string(levels - 1, ']') + "]";
        };
        BOOST_TEST(!decode_text(json_of(limits.max_depth), limits, p, expected));
        BOOST_TEST(decode_text(json_of(limits.max_depth + 1), limits, p, expected) ==
                   parse_error::invalid_json);
    }
    // Binary values: at most max_attachments of them, of at most max_attachment_bytes together.
    const auto bins = [](std::size_t count, std::size_t size) {
        std::string data;
        data.push_back(static_cast<char>(0xdc)); // array 16
        data.push_back(static_cast<char>((count + 1) >> 8));
        data.push_back(static_cast<char>((count + 1) & 0xff));
        data += unhex("a165");
        for (std::size_t i = 0; i < count; ++i) {
            data += unhex("c6");
            for (int shift = 24; shift >= 0; shift -= 8)
                data.push_back(static_cast<char>((size >> shift) & 0xff));
            data += std::string(size, 'x');
        }
        return event_with_data(data);
    };
    BOOST_TEST(!decode_bytes(bins(limits.max_attachments, 1)));
    BOOST_TEST(decode_bytes(bins(limits.max_attachments + 1, 1)) == parse_error::too_many_attachments);
    BOOST_TEST(!decode_bytes(bins(2, limits.max_attachment_bytes / 2)));
    BOOST_TEST(decode_bytes(bins(2, limits.max_attachment_bytes / 2 + 1)) ==
               parse_error::attachment_too_large);
    parser_limits small;
    small.max_attachments = 1;
    small.max_attachment_bytes = 10;
    small.max_depth = 2;
    BOOST_TEST(decode_bytes(bins(2, 1), small) == parse_error::too_many_attachments);
    BOOST_TEST(decode_bytes(bins(1, 11), small) == parse_error::attachment_too_large);
    BOOST_TEST(!decode_bytes(event_with_data(nested_arrays(2)), small));
    BOOST_TEST(decode_bytes(event_with_data(nested_arrays(3)), small) == parse_error::invalid_msgpack);
    // Declared sizes beyond the input are refused before anything is allocated: an array of 2^32 - 1
    // elements, a string and a binary of 4 GiB, a map of 2^32 - 1 entries, in a few bytes.
    BOOST_TEST(decode_bytes(event_with_data(unhex("ddffffffff"))) == parse_error::invalid_msgpack);
    BOOST_TEST(decode_bytes(event_with_data(unhex("92a165dbffffffff41"))) == parse_error::invalid_msgpack);
    BOOST_TEST(decode_bytes(event_with_data(unhex("92a165c6ffffffff41"))) == parse_error::invalid_msgpack);
    BOOST_TEST(decode_bytes(event_with_data(unhex("92a165dfffffffff"))) == parse_error::invalid_msgpack);
    BOOST_TEST(decode_bytes(unhex("dfffffffff")) == parse_error::invalid_msgpack);
}

BOOST_AUTO_TEST_CASE(every_truncation_of_a_valid_packet_is_refused) {
    const auto full = encode_msgpack(make(packet_type::binary_ack, "/nsp",
                                          R"([{"a":[1,2.5,"x"]},)" + ph(0) + "]", 9, {std::string(40, 'q')}));
    packet p;
    BOOST_TEST(!decode_msgpack(full, {}, p));
    for (std::size_t n = 0; n < full.size(); ++n)
        BOOST_TEST(decode_msgpack(std::string_view(full).substr(0, n), {}, p) != std::error_code{});
}

BOOST_AUTO_TEST_CASE(the_codecs_behind_the_interface) {
    const auto p = make(packet_type::binary_event, "/", R"(["bin",)" + ph(0) + "]", {}, {"\x01\x02"});
    // The JSON parser: text then attachments, as protocol::encode writes them.
    const auto j = json_parser()->encode(p);
    BOOST_TEST_REQUIRE(j.text);
    BOOST_TEST(*j.text == "51-[\"bin\"," + ph(0) + "]");
    BOOST_TEST_REQUIRE(j.attachments.size() == 1u);
    BOOST_TEST(json_parser()->name() == "json");
    BOOST_TEST(msgpack_parser()->name() == "msgpack");
    BOOST_TEST(json_parser() == json_parser()); // shared instances

    std::optional<packet> out;
    auto jd = json_parser()->make_decoder({});
    BOOST_TEST(!jd->on_message(*j.text, false, out));
    BOOST_TEST(!out.has_value());
    BOOST_TEST(jd->pending());
    BOOST_TEST(!jd->on_message("\x01\x02", true, out));
    BOOST_TEST_REQUIRE(out.has_value());
    BOOST_TEST(out->attachments.front() == std::string("\x01\x02"));
    BOOST_TEST(!jd->pending());

    // The msgpack parser: one binary message per packet; a text message is refused.
    const auto m = msgpack_parser()->encode(p);
    auto md = msgpack_parser()->make_decoder({});
    BOOST_TEST(!md->on_message(*m.attachments.front(), true, out));
    BOOST_TEST_REQUIRE(out.has_value());
    BOOST_TEST(json::serialize(out->data) == json::serialize(p.data));
    BOOST_TEST(!md->pending());
    BOOST_TEST(md->on_message("2[\"x\"]", false, out) == parse_error::text_message);
    BOOST_TEST(!out.has_value());
    BOOST_TEST(md->on_message("\xc1", true, out) == parse_error::invalid_msgpack);
    // The decoder applies the limits it was made with.
    parser_limits one;
    one.max_attachments = 0;
    BOOST_TEST(msgpack_parser()->make_decoder(one)->on_message(*m.attachments.front(), true, out) ==
               parse_error::too_many_attachments);

    // parser_options: assigning a codec keeps the limits.
    parser_options opts;
    opts.max_depth = 7;
    opts = msgpack_parser();
    BOOST_TEST(opts.max_depth == 7u);
    BOOST_TEST(opts.codec == msgpack_parser());
}
