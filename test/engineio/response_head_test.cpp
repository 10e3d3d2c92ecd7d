// The hand-formatted response head (src/engineio/response_head.hpp) against what Beast's serializer writes
// for the same response, case by case.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "engineio/response_head.hpp"

namespace http = boost::beast::http;
using sio::header_list;
using sio::engineio::detail::format_response_head;
using sio::engineio::detail::response_head_spec;

namespace {

// What the server wrote before the hand-formatted head: a Beast message built the same way.
std::string beast_response(const response_head_spec& spec, const header_list& extra,
                           const std::string& body) {
    http::response<http::string_body> res{spec.status, spec.version};
    if (!spec.content_type.empty())
        res.set(http::field::content_type, spec.content_type);
    for (const auto& [name, value] : extra.fields())
        res.insert(name, value);
    if (!spec.content_encoding.empty())
        res.set(http::field::content_encoding, spec.content_encoding);
    res.body() = body;
    res.keep_alive(spec.keep_alive);
    res.prepare_payload();
    std::ostringstream out;
    out << res;
    return out.str();
}

header_list fields(std::vector<std::pair<std::string, std::string>> list) {
    header_list h;
    for (const auto& [name, value] : list)
        h.add(name, value);
    return h;
}

} // namespace

BOOST_AUTO_TEST_SUITE(response_head)

BOOST_AUTO_TEST_CASE(matches_beast_byte_for_byte) {
    const std::vector<header_list> extras{
        fields({}),
        fields({{"Access-Control-Allow-Origin", "http://localhost:8080"},
                {"Access-Control-Allow-Credentials", "true"},
                {"Vary", "Origin"}}),
        fields({{"X-Custom", "  padded value\t "}, {"set-cookie", "a=1"}, {"Set-Cookie", "b=2"}}),
        fields({{"Content-Type", "application/x-duplicate"}, {"Content-Encoding", "br"}}),
        fields({{"X-Empty", ""}, {"X-Spaces", "   "}}),
    };
    const std::vector<http::status> statuses{http::status::ok, http::status::bad_request,
                                             http::status::forbidden, http::status::payload_too_large,
                                             http::status::not_found};
    int compared = 0;
    for (const auto& extra : extras)
        for (const auto status : statuses)
            for (const bool keep_alive : {true, false})
                for (const std::string_view type : {"text/plain; charset=UTF-8", "", "application/json"})
                    for (const std::string_view encoding : {"", "gzip"})
                        for (const std::string& body :
                             std::vector<std::string>{"", "ok", std::string(70000, 'x')}) {
                            const response_head_spec spec{status,   11,         type,
                                                          encoding, keep_alive, body.size()};
                            const auto head = format_response_head(spec, extra);
                            if (!head) {
                                // Only an extra Content-Encoding beside the own one is left to Beast here.
                                BOOST_TEST(!encoding.empty());
                                BOOST_TEST(extra.get("Content-Encoding").has_value());
                                continue;
                            }
                            BOOST_TEST(*head + body == beast_response(spec, extra, body));
                            ++compared;
                        }
    BOOST_TEST(compared == 5 * 5 * 2 * 3 * 2 * 3 - 5 * 2 * 3 * 3);
}

BOOST_AUTO_TEST_CASE(leaves_the_unusual_cases_to_beast) {
    const auto none = fields({});
    BOOST_TEST(!format_response_head({http::status::ok, 10, "text/plain", "", true, 2}, none));
    BOOST_TEST(!format_response_head({http::status::no_content, 11, "", "", true, 0}, none));
    BOOST_TEST(!format_response_head({http::status::not_modified, 11, "", "", true, 0}, none));
    BOOST_TEST(!format_response_head({http::status::switching_protocols, 11, "", "", true, 0}, none));
    for (const char* name : {"Connection", "content-length", "Transfer-Encoding"})
        BOOST_TEST(
            !format_response_head({http::status::ok, 11, "text/plain", "", true, 2}, fields({{name, "x"}})),
            name);
    BOOST_TEST(!format_response_head({http::status::ok, 11, "text/plain", "", true, 2},
                                     fields({{"X-Injected", "a\r\nSet-Cookie: b"}})));
    BOOST_TEST(
        format_response_head({http::status::ok, 11, "text/plain", "", true, 2}, fields({{"X-Tab", "a\tb"}}))
            .has_value());
}

BOOST_AUTO_TEST_SUITE_END()
