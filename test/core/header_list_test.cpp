#include <sio/options.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "engineio/compact_request.hpp"

namespace {

std::vector<std::string> flatten(const sio::header_list& h) {
    std::vector<std::string> out;
    for (const auto& [name, value] : h.fields())
        out.push_back(std::string(name) + "=" + std::string(value));
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(fields_keep_their_order_and_names_compare_case_insensitively) {
    sio::header_list h;
    BOOST_TEST(h.empty());
    h.reserve(3, 40);
    h.add("Host", "127.0.0.1:1234");
    h.add("Set-Cookie", "a=1");
    h.add("set-cookie", "b=2");
    h.add("", "");
    BOOST_TEST(h.size() == 4u);
    BOOST_TEST(flatten(h) ==
                   (std::vector<std::string>{"Host=127.0.0.1:1234", "Set-Cookie=a=1", "set-cookie=b=2", "="}),
               boost::test_tools::per_element());
    BOOST_TEST(h.get("HOST").value() == "127.0.0.1:1234");
    BOOST_TEST(h.get("set-COOKIE").value() == "a=1"); // the first one
    BOOST_TEST(!h.get("Hos").has_value());
    BOOST_TEST(h.at(1).second == "a=1");
}

BOOST_AUTO_TEST_CASE(set_replaces_every_field_and_erase_removes_them) {
    sio::header_list h;
    h.add("Set-Cookie", "a=1");
    h.add("X-One", "1");
    h.add("set-cookie", "b=2");
    h.set("SET-COOKIE", "c=3");
    BOOST_TEST(flatten(h) == (std::vector<std::string>{"X-One=1", "SET-COOKIE=c=3"}),
               boost::test_tools::per_element());
    h.erase("x-one");
    BOOST_TEST(flatten(h) == (std::vector<std::string>{"SET-COOKIE=c=3"}), boost::test_tools::per_element());
    h.erase("absent");
    BOOST_TEST(h.size() == 1u);

    // A copy owns its text: the original may change without touching it.
    const sio::header_list copy = h;
    h.set("Set-Cookie", "changed");
    BOOST_TEST(copy.get("set-cookie").value() == "c=3");
    BOOST_TEST(h.get("set-cookie").value() == "changed");
}

// A session's copy of its request is packed until first read (src/engineio/compact_request.hpp).
BOOST_AUTO_TEST_CASE(a_packed_request_reads_back_as_it_was_given) {
    sio::request_info r;
    r.method = "GET";
    r.target = "/socket.io/?EIO=4&transport=websocket&" + std::string(300, 'q'); // a length of 2 bytes
    r.remote_address = "::1";
    r.secure = true;
    r.headers.add("Host", "127.0.0.1:1234");
    r.headers.add("X-Long", std::string(20000, 'v')); // a length of 3 bytes
    r.headers.add("", "");
    r.headers.add("set-cookie", "a=1");
    const sio::engineio::detail::compact_request packed(r);
    const sio::request_info& back = packed.get();
    BOOST_TEST(&back == &packed.get()); // built once
    BOOST_TEST(back.method == r.method);
    BOOST_TEST(back.target == r.target);
    BOOST_TEST(back.remote_address == r.remote_address);
    BOOST_TEST(back.secure);
    BOOST_TEST(flatten(back.headers) == flatten(r.headers), boost::test_tools::per_element());

    sio::request_info empty;
    const sio::engineio::detail::compact_request packed_empty(empty);
    BOOST_TEST(sio::engineio::detail::compact_request::packed_size(empty) == 5u); // flags, count, 3 strings
    BOOST_TEST(packed_empty.get().method.empty());
    BOOST_TEST(packed_empty.get().headers.empty());
    BOOST_TEST(!packed_empty.get().secure);
}

// The strings most handshakes carry take one byte each packed, and read back as they were (names in the
// case they came with).
BOOST_AUTO_TEST_CASE(a_packed_request_keeps_common_strings_in_one_byte) {
    sio::request_info r;
    r.method = "GET";
    r.target = "/socket.io/?EIO=4&transport=websocket";
    r.remote_address = "127.0.0.1";
    r.headers.add("Host", "127.0.0.1:1234");
    r.headers.add("Upgrade", "websocket");
    r.headers.add("connection", "Upgrade");
    r.headers.add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    r.headers.add("Sec-WebSocket-Version", "13");
    r.headers.add("UPGRADE", "WebSocket"); // not as clients send them: kept as text
    // flags, count, method, target, address; per field its name and value (1 byte each when common, else
    // a length byte and the text).
    const std::size_t expected = 5 + (1 + 15) + 2 + 2 + (1 + 25) + 2 + (8 + 10);
    BOOST_TEST(sio::engineio::detail::compact_request::packed_size(r) == expected);
    const sio::engineio::detail::compact_request packed(r);
    const sio::request_info& back = packed.get();
    BOOST_TEST(back.method == r.method);
    BOOST_TEST(back.target == r.target);
    BOOST_TEST(back.remote_address == r.remote_address);
    BOOST_TEST(flatten(back.headers) == flatten(r.headers), boost::test_tools::per_element());
}
