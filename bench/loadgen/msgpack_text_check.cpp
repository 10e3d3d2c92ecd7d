// Checks of the load generator's msgpack conversion (msgpack_text.hpp), CTest `bench_loadgen_msgpack`: text
// packets survive the round trip, Node's encodings (keys in any order, `undefined`) read as Node's JSON
// parser would write them, and malformed input throws instead of reading past the end.
#include <iostream>
#include <string>
#include <string_view>

#include "msgpack_text.hpp"

namespace {

int failures = 0;

void check(bool ok, std::string_view what) {
    if (!ok) {
        std::cerr << "FAILED: " << what << "\n";
        ++failures;
    }
}

template <std::size_t N>
std::string bytes(const char (&s)[N]) { // a literal with NUL bytes in it
    return std::string(s, N - 1);
}

bool throws(const std::string& bin) {
    try {
        loadgen_msgpack::msgpack_to_text(bin);
    } catch (const std::runtime_error&) {
        return true;
    }
    return false;
}

} // namespace

int main() {
    for (
        std::string_view text :
        {std::string_view(
             R"(2["echo","a\"b\\c\n\u0001",-1,-200,70000,-70000,5000000000,1.5,true,false,null,{"k":[1,{}]},[]])"),
         std::string_view(R"(3/nsp,12["x"])"), std::string_view("0"), std::string_view("0/soak,"),
         std::string_view(R"(2/a,7["é"])"), std::string_view(R"(0{"sid":"abc"})"), std::string_view("1")}) {
        const auto back = loadgen_msgpack::msgpack_to_text(loadgen_msgpack::text_to_msgpack(text));
        check(back == text, std::string(text) + " came back as " + back);
    }
    // Node's CONNECT answer: {type: 0, data: {sid, pid: undefined}, nsp: "/"}; pid is left out.
    check(loadgen_msgpack::msgpack_to_text(bytes("\x83\xa4type\x00\xa4"
                                                 "data\x82\xa3sid\xa2id\xa3pid\xd4\x00\x00\xa3nsp\xa1/")) ==
              R"(0{"sid":"id"})",
          "undefined in a map");
    // Keys in another order, id as uint16, undefined in an array (null, as JSON.stringify writes it).
    check(loadgen_msgpack::msgpack_to_text(bytes("\x84\xa3nsp\xa2/x\xa2id\xcd\x01\x00\xa4"
                                                 "data\x92\xa1m\xd4\x00\x00\xa4type\x03")) ==
              R"(3/x,256["m",null])",
          "key order, uint16 id, undefined in an array");
    check(throws(bytes("\x83\xa4type")), "truncated map");
    check(throws(bytes("\xdf\xff\xff\xff\xff")), "a map that declares 4 G entries");
    check(throws(bytes("\x81\xa4"
                       "data\xc4\x01x")),
          "binary data (not used by the scenarios)");
    check(throws(bytes("\x81\xa4type\x07")), "type out of range");
    check(throws(bytes("\x92\x01\x02")), "not a map");
    check(throws(bytes("\x81\xa4type\x02\x00")), "trailing bytes");
    if (failures == 0)
        std::cout << "OK\n";
    return failures == 0 ? 0 : 1;
}
