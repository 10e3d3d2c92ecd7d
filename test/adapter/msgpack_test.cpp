// The private MessagePack codec of the Redis adapter against notepack.io 3.0.1. The expected bytes and
// decoded values below were checked against notepack.io 3.0.1 under Node 20 (decoded values written the way
// a Node server re-emits them: Buffer → placeholder + attachment, Date → toISOString, undefined properties
// dropped), then hard-coded; comments mark where we differ on purpose. Then round trips, and hostile input:
// every truncation of valid messages, huge lengths, deep nesting, too many elements, trailing bytes, the
// reserved byte 0xc1, mutations.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/msgpack.hpp"

namespace json = boost::json;
using sio::msgpack_detail::msgpack_decode;
using sio::msgpack_detail::msgpack_encode;
using sio::msgpack_detail::msgpack_limits;

namespace {

std::string unhex(std::string_view h) {
    auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    std::string out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out += static_cast<char>(nibble(h[i]) << 4 | nibble(h[i + 1]));
    return out;
}

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += s;
    return out;
}

std::string hex(std::string_view b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : b) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string encode(const json::value& v, const std::vector<std::string>& attachments = {}) {
    std::string out;
    msgpack_encode(v, attachments, out);
    return hex(out);
}

struct decoded {
    std::error_code ec;
    json::value value;
    std::vector<std::string> attachments; // hex
};

decoded decode(std::string_view hex_bytes, const msgpack_limits& limits = {}) {
    decoded d;
    std::vector<std::string> attachments;
    d.value = "untouched";
    d.ec = msgpack_decode(unhex(hex_bytes), d.value, attachments, limits);
    for (const auto& a : attachments)
        d.attachments.push_back(hex(a));
    return d;
}

const std::error_code bad_message = std::make_error_code(std::errc::bad_message);

/// `io.to("room1").except("room2").volatile.emit("r",{a:1})`, as @socket.io/redis-adapter 8.3 published it
/// (captured from a Node server; the broadcast format is in docs/adapters.md).
constexpr std::string_view captured_hex =
    "93a66767574b6968"                                         // an array of 3, uid "ggWKih"
    "83a47479706502a46461746192a17281a16101a36e7370a12f"       // {type:2, data:["r",{a:1}], nsp:"/"}
    "83a5726f6f6d7391a5726f6f6d31a665786365707491a5726f6f6d32" // {rooms:["room1"], except:["room2"],
    "a5666c61677381a8766f6c6174696c65c3";                      //  flags:{volatile:true}}

} // namespace

// --------------------------------------------------------------------------------------------- encoding

BOOST_AUTO_TEST_SUITE(encoding)

struct encode_case {
    const char* name;
    json::value value;
    std::string bytes;
};

BOOST_AUTO_TEST_CASE(scalars_take_notepacks_smallest_form) {
    const double two32 = 4294967296.0;
    const std::vector<encode_case> cases{
        {"null", nullptr, "c0"},
        {"true", true, "c3"},
        {"false", false, "c2"},
        {"0", 0, "00"},
        {"127", 127, "7f"},
        {"128", 128, "cc80"},
        {"255", 255, "ccff"},
        {"256", 256, "cd0100"},
        {"65535", 65535, "cdffff"},
        {"65536", 65536, "ce00010000"},
        {"2^32-1", std::int64_t{4294967295}, "ceffffffff"},
        {"2^32", std::int64_t{4294967296}, "cf0000000100000000"},
        {"2^53", std::int64_t{1} << 53, "cf0020000000000000"},
        {"int64 max", std::numeric_limits<std::int64_t>::max(), "cf7fffffffffffffff"},
        {"uint64 max", std::numeric_limits<std::uint64_t>::max(), "cfffffffffffffffff"},
        {"uint64 small", std::uint64_t{5}, "05"},
        {"-1", -1, "ff"},
        {"-32", -32, "e0"},
        {"-33", -33, "d0df"},
        {"-128", -128, "d080"},
        {"-129", -129, "d1ff7f"},
        {"-32768", -32768, "d18000"},
        {"-32769", -32769, "d2ffff7fff"},
        {"-2^31", std::int64_t{-2147483648}, "d280000000"},
        {"-2^31-1", std::int64_t{-2147483649}, "d3ffffffff7fffffff"},
        {"-2^53", -(std::int64_t{1} << 53), "d3ffe0000000000000"},
        {"int64 min", std::numeric_limits<std::int64_t>::min(), "d38000000000000000"},
        // Integral doubles are integers, as in JS.
        {"1.0", 1.0, "01"},
        {"-0.0", -0.0, "00"},
        {"200.0", 200.0, "ccc8"},
        {"-33.0", -33.0, "d0df"},
        {"2^32 as double", two32, "cf0000000100000000"},
        {"2^63 as double", 9223372036854775808.0, "cf8000000000000000"},
        {"2^64-2048 as double", 18446744073709549568.0, "cffffffffffffff800"},
        {"-2^63 as double", -9223372036854775808.0, "d38000000000000000"},
        // Everything else is float64, never float32.
        {"1.5", 1.5, "cb3ff8000000000000"},
        {"-1.5", -1.5, "cbbff8000000000000"},
        {"0.1", 0.1, "cb3fb999999999999a"},
        {"NaN", std::numeric_limits<double>::quiet_NaN(), "cb7ff8000000000000"},
        {"Infinity", std::numeric_limits<double>::infinity(), "cb7ff0000000000000"},
        {"-Infinity", -std::numeric_limits<double>::infinity(), "cbfff0000000000000"},
        // notepack writes these modulo 2^64 (1e20 as cf6bc75e2d63100000, the others as cf0000000000000000):
        // the number is kept instead.
        {"1e20", 1e20, "cb4415af1d78b58c40"},
        {"1e300", 1e300, "cb7e37e43c8800759c"},
        {"2^64", 18446744073709551616.0, "cb43f0000000000000"},
        {"-2^64", -18446744073709551616.0, "cbc3f0000000000000"},
        // Strings are str (UTF-8 byte length), never bin.
        {"empty string", "", "a0"},
        {"a", "a", "a161"},
        {"31 chars", json::string(31, 'a'), "bf" + repeat("61", 31)},
        {"é", "\xc3\xa9", "a2c3a9"},
        {"€", "\xe2\x82\xac", "a3e282ac"},
        {"emoji", "\xf0\x9f\x98\x80", "a4f09f9880"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            BOOST_TEST(encode(c.value) == c.bytes);
        }
    }
}

BOOST_AUTO_TEST_CASE(length_forms_of_str_bin_array_map) {
    struct length_case {
        const char* name;
        json::value value;
        std::vector<std::string> attachments;
        const char* prefix; // the header and the first bytes after it
    };
    auto placeholder0 = json::value{{"_placeholder", true}, {"num", 0}};
    auto array_of = [](std::size_t n) { return json::value(json::array(n, json::value(0))); };
    auto map_of = [](std::size_t n) {
        json::object o;
        for (std::size_t i = 0; i < n; ++i)
            o["k" + std::to_string(i)] = 0;
        return json::value(std::move(o));
    };
    const std::vector<length_case> cases{
        {"str 32", json::string(32, 'a'), {}, "d92061"},
        {"str 255", json::string(255, 'a'), {}, "d9ff61"},
        {"str 256", json::string(256, 'a'), {}, "da010061"},
        {"str 65535", json::string(65535, 'a'), {}, "daffff61"},
        {"str 65536", json::string(65536, 'a'), {}, "db0001000061"},
        {"bin 0", placeholder0, {""}, "c400"},
        {"bin 255", placeholder0, {std::string(255, '\x07')}, "c4ff07"},
        {"bin 256", placeholder0, {std::string(256, '\x07')}, "c5010007"},
        {"bin 65535", placeholder0, {std::string(65535, '\x07')}, "c5ffff07"},
        {"bin 65536", placeholder0, {std::string(65536, '\x07')}, "c60001000007"},
        {"array 0", json::array{}, {}, "90"},
        {"array 15", array_of(15), {}, "9f00"},
        {"array 16", array_of(16), {}, "dc001000"},
        {"array 65535", array_of(65535), {}, "dcffff00"},
        {"array 65536", array_of(65536), {}, "dd0001000000"},
        {"map 0", json::object{}, {}, "80"},
        {"map 15", map_of(15), {}, "8fa26b3000"},
        {"map 16", map_of(16), {}, "de0010a26b3000"},
        {"map 65535", map_of(65535), {}, "deffffa26b3000"},
        {"map 65536", map_of(65536), {}, "df00010000a26b3000"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            const std::string bytes = encode(c.value, c.attachments);
            BOOST_TEST(bytes.substr(0, std::string_view(c.prefix).size()) == c.prefix);
        }
    }
    // The whole 16-entry map, byte for byte.
    json::object sixteen;
    for (int i = 0; i < 16; ++i)
        sixteen["k" + std::to_string(i)] = i;
    BOOST_TEST(encode(sixteen) ==
               "de0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b39"
               "09a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f");
}

BOOST_AUTO_TEST_CASE(containers_and_binary) {
    // The captured broadcast message.
    const json::value captured =
        json::parse(R"(["ggWKih",{"type":2,"data":["r",{"a":1}],"nsp":"/"},)"
                    R"({"rooms":["room1"],"except":["room2"],"flags":{"volatile":true}}])");
    BOOST_TEST(encode(captured) == captured_hex);
    BOOST_TEST(encode(json::parse(R"({"a":[1,{"b":null}],"c":"x"})")) == "82a161920181a162c0a163a178");
    // Placeholders become bin with their attachment's bytes (Buffer in notepack).
    const std::vector<std::string> attachments{"\xde\xad", "\xbe\xef"};
    BOOST_TEST(
        encode(json::parse(R"(["x",{"_placeholder":true,"num":0},{"y":{"_placeholder":true,"num":1}}])"),
               attachments) == "93a178c402dead81a179c402beef");
    // Not a placeholder: num out of range, a third key, a false flag, a negative num. Those are maps.
    BOOST_TEST(encode(json::parse(R"({"_placeholder":true,"num":2})"), attachments) ==
               "82ac5f706c616365686f6c646572c3a36e756d02");
    BOOST_TEST(encode(json::parse(R"({"_placeholder":true,"num":0,"x":1})"), attachments) ==
               "83ac5f706c616365686f6c646572c3a36e756d00a17801");
    BOOST_TEST(encode(json::parse(R"({"_placeholder":false,"num":0})"), attachments) ==
               "82ac5f706c616365686f6c646572c2a36e756d00");
    BOOST_TEST(encode(json::parse(R"({"_placeholder":true,"num":-1})"), attachments) ==
               "82ac5f706c616365686f6c646572c3a36e756dff");
    // Keys keep the order of the value.
    BOOST_TEST(encode(json::parse(R"({"b":1,"2":2,"1":3})")) == "83a16201a13202a13103");
    // Appends.
    std::string out = "\x01";
    msgpack_encode(json::value(true), {}, out);
    BOOST_TEST(hex(out) == "01c3");
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------------------------------------------- decoding

BOOST_AUTO_TEST_SUITE(decoding)

struct decode_case {
    const char* bytes;
    const char* json; // as boost::json serialises the result; compared after parsing it the same way
    std::vector<std::string> attachments = {};
};

void check(const std::vector<decode_case>& cases) {
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.bytes) {
            const decoded d = decode(c.bytes);
            BOOST_TEST(!d.ec);
            BOOST_TEST(json::serialize(d.value) == json::serialize(json::parse(c.json)));
            BOOST_TEST(d.attachments == c.attachments);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_scalar_format) {
    check({
        {"00", "0"},
        {"7f", "127"},
        {"ff", "-1"},
        {"e0", "-32"},
        {"cc80", "128"},
        {"cdffff", "65535"},
        {"ceffffffff", "4294967295"},
        {"cf0000000100000000", "4294967296"},
        {"cf7fffffffffffffff", "9223372036854775807"},  // JS rounds; the integer is kept
        {"cf8000000000000000", "9223372036854775808"},  // uint64
        {"cfffffffffffffffff", "18446744073709551615"}, // uint64
        {"d080", "-128"},
        {"d0ff", "-1"},
        {"d18000", "-32768"},
        {"d280000000", "-2147483648"},
        {"d38000000000000000", "-9223372036854775808"},
        {"d3ffffffffffffffff", "-1"},
        {"ca3fc00000", "1.5"},                 // float32
        {"ca3dcccccd", "0.10000000149011612"}, // float32 0.1, widened exactly
        {"cb3ff8000000000000", "1.5"},
        {"cb3ff0000000000000", "1.0"}, // a double stays a double
        {"c0", "null"},
        {"c2", "false"},
        {"c3", "true"},
        {"a0", R"("")"},
        {"a161", R"("a")"},
        {"d90161", R"("a")"},
        {"da000161", R"("a")"},
        {"db0000000161", R"("a")"},
        {"a3e282ac", "\"\xe2\x82\xac\""},
        // Invalid UTF-8: Buffer#toString replaces each maximal invalid subpart by U+FFFD.
        {"a2e282", "\"\xef\xbf\xbd\""},
        {"a3eda080", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
        {"a4f0808041", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                       "A\""},
        {"a3efbbbf", "\"\xef\xbb\xbf\""}, // a BOM is kept
    });
}

BOOST_AUTO_TEST_CASE(non_finite_doubles_are_null_like_json_writes_them) {
    check({
        {"cb7ff8000000000000", "null"},
        {"cb7ff0000000000000", "null"},
        {"cbfff0000000000000", "null"},
        {"ca7fc00000", "null"},
        {"ca7f800000", "null"},
        {"93cb7ff8000000000000ca7f800000cbfff0000000000000", "[null,null,null]"},
    });
    const decoded minus_zero = decode("cb8000000000000000");
    BOOST_TEST(minus_zero.value.is_double());
    BOOST_TEST(!std::signbit(minus_zero.value.get_double())); // JSON.stringify(-0) is "0"
}

BOOST_AUTO_TEST_CASE(binary_becomes_placeholders) {
    check({
        {"c403010203", R"({"_placeholder":true,"num":0})", {"010203"}},
        {"c400", R"({"_placeholder":true,"num":0})", {""}},
        {"c50001ff", R"({"_placeholder":true,"num":0})", {"ff"}},
        {"c600000001ff", R"({"_placeholder":true,"num":0})", {"ff"}},
        {"93a178c402dead81a179c402beef",
         R"(["x",{"_placeholder":true,"num":0},{"y":{"_placeholder":true,"num":1}}])",
         {"dead", "beef"}},
    });
    // Appended after what `attachments` already holds.
    std::vector<std::string> attachments{"old"};
    json::value v;
    BOOST_TEST(!msgpack_decode(unhex("92c40101c40102"), v, attachments));
    BOOST_TEST(json::serialize(v) == R"([{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}])");
    BOOST_TEST((attachments == std::vector<std::string>{"old", "\x01", "\x02"}));
    BOOST_TEST(v.at(0).at("num").is_uint64());
}

BOOST_AUTO_TEST_CASE(containers) {
    check({
        {"90", "[]"},
        {"9100", "[0]"},
        {"dc0001c0", "[null]"},
        {"dd00000001c3", "[true]"},
        {"80", "{}"},
        {"de0001a161c0", R"({"a":null})"},
        {"df00000001a16101", R"({"a":1})"},
        {"82a161920181a162c0a163a178", R"({"a":[1,{"b":null}],"c":"x"})"},
        {captured_hex.data(), R"(["ggWKih",{"type":2,"data":["r",{"a":1}],"nsp":"/"},)"
                              R"({"rooms":["room1"],"except":["room2"],"flags":{"volatile":true}}])"},
    });
}

BOOST_AUTO_TEST_CASE(ext_types) {
    check({
        // Legacy undefined: null, and left out of maps like JSON.stringify does.
        {"d40001", "null"},
        {"92d40000c3", "[null,true]"},
        {"82a16101a162d40000", R"({"a":1})"},
        // Any other ext: [type, Buffer], the type signed.
        {"d401ab", R"([1,{"_placeholder":true,"num":0}])", {"ab"}},
        {"d4feab", R"([-2,{"_placeholder":true,"num":0}])", {"ab"}},
        {"d4ffab", R"([-1,{"_placeholder":true,"num":0}])", {"ab"}},
        {"d5010102", R"([1,{"_placeholder":true,"num":0}])", {"0102"}},
        {"d5000102", R"([0,{"_placeholder":true,"num":0}])", {"0102"}},
        {"d60501020304", R"([5,{"_placeholder":true,"num":0}])", {"01020304"}},
        {"d7050102030405060708", R"([5,{"_placeholder":true,"num":0}])", {"0102030405060708"}},
        {"d8ff000102030405060708090a0b0c0d0e0f",
         R"([-1,{"_placeholder":true,"num":0}])",
         {"000102030405060708090a0b0c0d0e0f"}},
        {"c70305010203", R"([5,{"_placeholder":true,"num":0}])", {"010203"}},
        {"c70080", R"([-128,{"_placeholder":true,"num":0}])", {""}},
        {"c80003050a0b0c", R"([5,{"_placeholder":true,"num":0}])", {"0a0b0c"}},
        {"c80002ff0a0b", R"([-1,{"_placeholder":true,"num":0}])", {"0a0b"}}, // -1 is a timestamp in c7 only
        {"c90000000205abcd", R"([5,{"_placeholder":true,"num":0}])", {"abcd"}},
        // Type 0 in c7/c8/c9: the legacy ArrayBuffer, binary.
        {"c703000a0b0c", R"({"_placeholder":true,"num":0})", {"0a0b0c"}},
        {"c80001000a", R"({"_placeholder":true,"num":0})", {"0a"}},
        {"c9000000020001ff", R"({"_placeholder":true,"num":0})", {"01ff"}},
    });
}

BOOST_AUTO_TEST_CASE(timestamps_become_iso_text) {
    check({
        // new Date(1700000000123), captured: timestamp 64.
        {"d7ff1d5353006553f100", R"("2023-11-14T22:13:20.123Z")"},
        {"d6ff6553f100", R"("2023-11-14T22:13:20.000Z")"},                   // timestamp 32
        {"c70cff0754d4c0000000006553f100", R"("2023-11-14T22:13:20.123Z")"}, // timestamp 96
        {"d7000000018bcfe5687b", R"("2023-11-14T22:13:20.123Z")"},           // legacy d7 00: int64 ms
        {"d6ff00000000", R"("1970-01-01T00:00:00.000Z")"},
        {"d6ffffffffff", R"("2106-02-07T06:28:15.000Z")"},
        {"d7ffffffffffffffffff", R"("2514-05-30T01:53:04.073Z")"}, // 30-bit ns over 10^9, not checked
        {"d7ff0000000400000000", R"("1970-01-01T00:00:00.000Z")"},
        {"d7000000000000000001", R"("1970-01-01T00:00:00.001Z")"},
        // Negative seconds; the time value is truncated toward zero.
        {"c70cff00000000ffffffffffffffff", R"("1969-12-31T23:59:59.000Z")"},
        {"c70cff00000001ffffffffffffffff", R"("1969-12-31T23:59:59.001Z")"},
        {"c70cff000f4240ffffffffffffffff", R"("1969-12-31T23:59:59.001Z")"},
        {"c70cff00000000fffffffffffffffe", R"("1969-12-31T23:59:58.000Z")"},
        {"c70cffffffffff0000000000000000", R"("1970-01-01T00:00:04.294Z")"},
        // Double rounding as in JS: 8589934591 s + 999999999 ns rounds up to the next second.
        {"c70cff3b9ac9ff00000001ffffffff", R"("2242-03-16T12:56:32.000Z")"},
        // c7 with type -1 reads 12 bytes whatever the length byte says (notepack).
        {"c700ff0754d4c0000000006553f100", R"("2023-11-14T22:13:20.123Z")"},
        // Years outside 0-9999 in the extended form; the ends of the Date range; beyond them null.
        {"c70cff000000000000003afff44180", R"("+010000-01-01T00:00:00.000Z")"},
        {"c70cff00000000000000ee2cd7c100", R"("+034386-02-20T18:40:00.000Z")"},
        {"d700fffe15b1e1e00000", R"("-015114-09-20T12:38:47.040Z")"},
        {"d700001eb208c2dc0000", R"("+275760-09-13T00:00:00.000Z")"},
        {"d700ffe14df73d240000", R"("-271821-04-20T00:00:00.000Z")"},
        {"d700001eb208c2dc0001", "null"},
        {"d700ffe14df73d23ffff", "null"},
        {"c70cff00000000000007ffffffffff", "null"},
    });
}

BOOST_AUTO_TEST_CASE(map_keys_as_javascript_writes_them) {
    check({
        {"8301a161a162a163c0a130", R"({"1":"a","b":"c","null":"0"})"},
        {"81c3c3", R"({"true":true})"},
        {"81c2c2", R"({"false":false})"},
        {"81ffc3", R"({"-1":true})"},
        {"81d40000c3", R"({"undefined":true})"},
        {"81cb3ff0000000000000c3", R"({"1":true})"},
        {"81ca3dcccccd01", R"({"0.10000000149011612":1})"},
        {"81cb7ff8000000000000c2", R"({"NaN":false})"},
        {"81cb3e7ad7f29abcaf48c2", R"({"1e-7":false})"},
        {"81cb3eb0c6f7a0b5ed8dc2", R"({"0.000001":false})"},
        {"81cb444b1ae4d6e2ef50c2", R"({"1e+21":false})"},
        {"81cbc4ab1ae4d6e2ef50c2", R"({"-6.4e+22":false})"},
        {"81cb8000000000000000c2", R"({"0":false})"},
        {"81cf8000000000000000c2", R"({"9223372036854776000":false})"},
        {"81d3ffe0000000000001c2", R"({"-9007199254740991":false})"},
        // Arrays join with ","; null and undefined are empty; Buffers are their UTF-8 text, not attachments.
        {"81920102c3", R"({"1,2":true})"},
        {"8192c0d40000c3", R"({",":true})"},
        {"8190c3", R"({"":true})"},
        {"8192a161c403626364c3", R"({"a,bcd":true})"},
        {"81c403ff6162c3", "{\"\xef\xbf\xbd"
                           "ab\":true}"},
        {"81c70001c3", R"({"1,":true})"},
        {"81c70000c3", R"({"[object ArrayBuffer]":true})"},
        {"8180c3", R"({"[object Object]":true})"},
        {"81818191c3c3c3c3", R"({"[object Object]":true})"},
        {"8181a776616c75654f6601c3", R"({"[object Object]":true})"},
        {"8181a95f5f70726f746f5f5f01c3", R"({"[object Object]":true})"},
        // Dates as keys: Date.prototype.toString in a UTC process.
        {"81d6ff6553f100c3", R"x({"Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)":true})x"},
        {"81d700ffe14df73d240000c3",
         R"x({"Tue Apr 20 -271821 00:00:00 GMT+0000 (Coordinated Universal Time)":true})x"},
        {"81d700ffffff17ffffffffc3",
         R"x({"Sun Jun 05 1938 05:13:07 GMT+0000 (Coordinated Universal Time)":true})x"},
        {"81d700001eb208c2dc0001c3", R"({"Invalid Date":true})"},
    });
}

BOOST_AUTO_TEST_CASE(javascript_property_semantics) {
    check({
        // A repeated key keeps its first place and its last value.
        {"83a16101a16202a16103", R"({"a":3,"b":2})"},
        {"83a161d40000a16201a16102", R"({"a":2,"b":1})"},
        {"83a161c0a162c0a161d40000", R"({"b":null})"},
        // Array indices first, ascending; 4294967295 and "01" are not indices.
        {"86a162c3aa34323934393637323935c3aa34323934393637323934c3a131c3a23031c3a130c3",
         R"({"0":true,"1":true,"4294967294":true,"b":true,"4294967295":true,"01":true})"},
        // Attachments are numbered in the order of the result, as socket.io-parser numbers them.
        {"83a162c40101a131c40102a130c40103",
         R"({"0":{"_placeholder":true,"num":0},"1":{"_placeholder":true,"num":1},"b":{"_placeholder":true,"num":2}})",
         {"03", "02", "01"}},
        {"84a161c40101a162c40102a161c3a163c40103",
         R"({"a":true,"b":{"_placeholder":true,"num":0},"c":{"_placeholder":true,"num":1}})",
         {"02", "03"}},
        // __proto__ goes through Object.prototype's setter: no property (its binary is no attachment)...
        {"81a95f5f70726f746f5f5f05", "{}"},
        {"81a95f5f70726f746f5f5f90", "{}"},
        {"82a95f5f70726f746f5f5f81a178c40101a179c40102", R"({"y":{"_placeholder":true,"num":0}})", {"02"}},
        {"82a95f5f70726f746f5f5f92c40101c40102a178c40103", R"({"x":{"_placeholder":true,"num":0}})", {"03"}},
        // ...unless the prototype chain no longer reaches it: then it is an own property.
        {"83a95f5f70726f746f5f5fc0a95f5f70726f746f5f5f05a178c40103",
         R"({"__proto__":5,"x":{"_placeholder":true,"num":0}})",
         {"03"}},
        {"82a95f5f70726f746f5f5f81a95f5f70726f746f5f5fc0a95f5f70726f746f5f5f07", R"({"__proto__":7})"},
        // All at once: a dropped __proto__ with its binary, indices first, attachments renumbered.
        {"84a162c40101a131c40102a95f5f70726f746f5f5f81a178c40103a130d7ff1d5353006553f100",
         R"({"0":"2023-11-14T22:13:20.123Z","1":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}})",
         {"02", "01"}},
        // A map that merely looks like a placeholder stays as it is.
        {"82ac5f706c616365686f6c646572c3a36e756d00", R"({"_placeholder":true,"num":0})"},
    });
    const decoded literal = decode("82ac5f706c616365686f6c646572c3a36e756d00");
    BOOST_TEST(literal.value.at("num").is_int64());
}

BOOST_AUTO_TEST_CASE(what_makes_node_throw_is_refused) {
    for (const char* bytes : {
             "8181a8746f537472696e6701c3",         // {{toString:1}: true}: String() throws
             "8181a95f5f70726f746f5f5fc0c3",       // a key whose prototype is null
             "81a95f5f70726f746f5f5fd6ff00000000", // a Date prototype: toJSON throws when re-emitted
             "81a95f5f70726f746f5f5fc40101",       // a Buffer prototype: toJSON throws
             "81a95f5f70726f746f5f5fc70000",       // an ArrayBuffer prototype: taken for binary
         }) {
        BOOST_TEST_CONTEXT(bytes) {
            BOOST_TEST(decode(bytes).ec == bad_message);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------------------------------------------- round trips

BOOST_AUTO_TEST_SUITE(round_trips)

BOOST_AUTO_TEST_CASE(bytes_decode_and_encode_back) {
    for (const char* bytes : {
             captured_hex.data(),
             "93a178c402dead81a179c402beef",
             "82a161920181a162c0a163a178",
             "cfffffffffffffffff",
             "d38000000000000000",
             "cb3ff8000000000000",
             "de0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b3130"
             "0aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f",
         }) {
        BOOST_TEST_CONTEXT(bytes) {
            json::value v;
            std::vector<std::string> attachments;
            BOOST_TEST(!msgpack_decode(unhex(bytes), v, attachments));
            BOOST_TEST(encode(v, attachments) == bytes);
        }
    }
}

BOOST_AUTO_TEST_CASE(values_encode_and_decode_back) {
    const std::vector<std::string> attachments{std::string("\0\x01\x02", 3), std::string(70000, 'z'), ""};
    const json::value v = json::parse(R"({"s":"text","n":[0,-1,127,-32,-33,255,65536,4294967296,-2147483649,
        9223372036854775807,-9223372036854775808,18446744073709551615,1.5,-0.25],"b":[true,false,null],
        "bin":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}],
        "deep":[[[[{"x":{"y":[]}}]]]],"unicode":"\u00e9\u20ac\ud83d\ude00","long":")" +
                                      std::string(70000, 'q') + R"("})");
    std::string bytes;
    msgpack_encode(v, attachments, bytes);
    json::value back;
    std::vector<std::string> out;
    BOOST_TEST(!msgpack_decode(bytes, back, out));
    BOOST_TEST(json::serialize(back) == json::serialize(v));
    BOOST_TEST((out == attachments));
}

BOOST_AUTO_TEST_SUITE_END()

// --------------------------------------------------------------------------------------------- hostile input

BOOST_AUTO_TEST_SUITE(hostile_input)

BOOST_AUTO_TEST_CASE(every_truncation_is_an_error) {
    const std::vector<std::string> messages{
        std::string(captured_hex),
        "93a178c402dead81a179c402beef",
        "d7ff1d5353006553f100",
        "c70cff0754d4c0000000006553f100",
        "d7000000018bcfe5687b",
        "92d401abc80003050a0b0c",
        "82cb3ff8000000000000ca3fc00000cf7fffffffffffffffd38000000000000000",
        "94cd0100ce00010000d1ff7fd2ffff7fff",
        "93d920" + repeat("61", 32) + "da000161db0000000161",
        "83dc0001c0dd00000001c3de0001a161c0df00000001a16101d40001c0",
    };
    for (const auto& full : messages) {
        const std::string bytes = unhex(full);
        BOOST_TEST_CONTEXT(full) {
            BOOST_TEST(!decode(full).ec);
            for (std::size_t n = 0; n < bytes.size(); ++n) {
                BOOST_TEST_CONTEXT("first " << n << " bytes") {
                    std::vector<std::string> attachments{"kept"};
                    json::value out = "untouched";
                    BOOST_TEST(msgpack_decode(std::string_view(bytes).substr(0, n), out, attachments) ==
                               bad_message);
                    BOOST_TEST(out == "untouched");
                    BOOST_TEST((attachments == std::vector<std::string>{"kept"}));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(lengths_beyond_the_input) {
    for (const char* bytes : {
             "dbffffffff61",   // 4 GB string in 6 bytes
             "c6ffffffff01",   // 4 GB binary
             "c9ffffffff0501", // 4 GB ext
             "c9ffffffff0001", // 4 GB ArrayBuffer
             "ddffffffffc0",   // 4 G elements
             "dfffffffffc0c0", // 4 G entries
             "dcffff00",       // 65535 elements in one byte
             "deffffc0c0",     // 65535 entries in two bytes
             "9300c0",         // 3 elements, 2 bytes
             "82a161c0a162",   // 2 entries, 3.5 bytes
             "d9ff61",
             "c4ff01",
             "c7ff0501",
             "c70cff0000", // a timestamp 96 short of its 12 bytes
             "d6ff0000",
             "d7ff000000",
             "d401", // fixext 1 missing its byte
             "d8ff00",
         }) {
        BOOST_TEST_CONTEXT(bytes) {
            BOOST_TEST(decode(bytes).ec == bad_message);
        }
    }
}

BOOST_AUTO_TEST_CASE(nesting_is_capped) {
    auto nested = [](std::size_t depth, const std::string& open, const std::string& leaf) {
        std::string h;
        for (std::size_t i = 0; i < depth; ++i)
            h += open;
        return h + leaf;
    };
    // Default cap 32: 32 nested arrays pass, 33 do not; the same with maps, and an ext at the bottom counts.
    BOOST_TEST(!decode(nested(32, "91", "c0")).ec);
    BOOST_TEST(decode(nested(33, "91", "c0")).ec == bad_message);
    BOOST_TEST(!decode(nested(32, "81a0", "c0")).ec);
    BOOST_TEST(decode(nested(33, "81a0", "c0")).ec == bad_message);
    BOOST_TEST(!decode(nested(31, "91", "d40101")).ec);
    BOOST_TEST(decode(nested(32, "91", "d40101")).ec == bad_message);
    // Keys nest too (an array as a key).
    BOOST_TEST(decode("81" + nested(32, "91", "c0") + "c0").ec == bad_message);
    BOOST_TEST(!decode("81" + nested(31, "91", "c0") + "c0").ec);
    // 100000 levels: refused, not a stack overflow.
    BOOST_TEST(decode(nested(100000, "91", "c0")).ec == bad_message);
    BOOST_TEST(decode(nested(100000, "81c0", "c0")).ec == bad_message);
    // A caller's cap.
    msgpack_limits shallow;
    shallow.max_depth = 2;
    BOOST_TEST(!decode("9191c0", shallow).ec);
    BOOST_TEST(decode("919191c0", shallow).ec == bad_message);
    shallow.max_depth = 0;
    BOOST_TEST(!decode("c0", shallow).ec);
    BOOST_TEST(decode("90", shallow).ec == bad_message);
}

BOOST_AUTO_TEST_CASE(elements_are_capped) {
    auto array_of_nil = [](std::size_t n) {
        char header[16];
        std::snprintf(header, sizeof header, "dd%08zx", n);
        std::string h = header;
        for (std::size_t i = 0; i < n; ++i)
            h += "c0";
        return h;
    };
    BOOST_TEST(!decode(array_of_nil(100000)).ec);
    BOOST_TEST(decode(array_of_nil(100001)).ec == bad_message);
    // Over the whole value: two arrays of 50000 and their parent make 100002.
    const std::string half = array_of_nil(50000).substr(2);
    BOOST_TEST(decode("92dd" + half + "dd" + half).ec == bad_message);
    msgpack_limits small;
    small.max_elements = 4;
    BOOST_TEST(!decode("9291c091c0", small).ec); // 2 + 1 + 1
    BOOST_TEST(decode("9292c0c091c0", small).ec == bad_message);
    BOOST_TEST(!decode("82a1610ba16201", small).ec); // map entries count once
    BOOST_TEST(decode("85a16101a16202a16303a16404a16505", small).ec == bad_message);
    BOOST_TEST(decode("92d40101d40102", small).ec == bad_message); // ext arrays count their 2
}

BOOST_AUTO_TEST_CASE(malformed_bytes) {
    for (const char* bytes : {
             "",   // nothing
             "c1", // reserved
             "91c1",
             "81c1c0",
             "81a0c1",
             "c0c0", // trailing bytes
             "9100ff",
             "a16161",
             "d7ff1d5353006553f10000",
         }) {
        BOOST_TEST_CONTEXT(bytes) {
            const decoded d = decode(bytes);
            BOOST_TEST(d.ec == bad_message);
            BOOST_TEST(d.value == "untouched");
        }
    }
}

BOOST_AUTO_TEST_CASE(every_byte_of_valid_messages_replaced) {
    // Each byte of valid messages replaced by header bytes and extremes: a value or bad_message, and on
    // failure the caller's attachments as they were.
    const std::vector<std::string> messages{
        std::string(captured_hex),
        "93a178c402dead81a179c402beef",
        "84a162c40101a131c40102a95f5f70726f746f5f5f81a178c40103a130d7ff1d5353006553f100",
        "92c70cff0754d4c0000000006553f100d8ff000102030405060708090a0b0c0d0e0f",
    };
    const unsigned char replacements[] = {0x00, 0x01, 0x0f, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
                                          0xc1, 0xc4, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd7,
                                          0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xfe, 0xff};
    for (const auto& m : messages) {
        const std::string bytes = unhex(m);
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            for (unsigned char r : replacements) {
                std::string mutated = bytes;
                mutated[i] = static_cast<char>(r);
                std::vector<std::string> attachments{"kept"};
                json::value out;
                const auto ec = msgpack_decode(mutated, out, attachments);
                BOOST_TEST_CONTEXT(m << " byte " << i << " = " << int(r)) {
                    BOOST_TEST((!ec || ec == bad_message));
                    if (ec)
                        BOOST_TEST((attachments == std::vector<std::string>{"kept"}));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(every_single_byte_and_pair) {
    // No input of one or two bytes may crash or assert; the results must be errors or values.
    for (int a = 0; a < 256; ++a) {
        std::string one(1, static_cast<char>(a));
        json::value v;
        std::vector<std::string> att;
        (void)msgpack_decode(one, v, att);
        for (int b = 0; b < 256; ++b) {
            std::string two = one + static_cast<char>(b);
            att.clear();
            (void)msgpack_decode(two, v, att);
        }
    }
    BOOST_TEST(true);
}

BOOST_AUTO_TEST_SUITE_END()
