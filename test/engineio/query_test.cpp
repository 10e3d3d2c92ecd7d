// The query parameters Engine.IO routes on (src/engineio/query.hpp): the direct split of the usual targets
// gives what Boost.URL gives, and the unusual ones still go through Boost.URL.
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

#include "engineio/query.hpp"

using sio::engineio::detail::parse_query;
using sio::engineio::detail::parse_query_by_url;
using sio::engineio::detail::query_params;

namespace {

bool same(const query_params& a, const query_params& b) {
    return a.eio == b.eio && a.transport == b.transport && a.sid == b.sid && a.b64 == b.b64;
}

} // namespace

BOOST_AUTO_TEST_SUITE(query)

BOOST_AUTO_TEST_CASE(the_official_clients_targets) {
    const auto q = parse_query("/socket.io/?EIO=4&transport=polling&t=PmQ6j1D&sid=Xz_-9aB.cd~0");
    BOOST_TEST(q.eio.value_or("none") == "4");
    BOOST_TEST(q.transport.value_or("none") == "polling");
    BOOST_TEST(q.sid.value_or("none") == "Xz_-9aB.cd~0");
    BOOST_TEST(!q.b64);
    const auto first = parse_query("/engine.io/?sid=a&sid=b&b64&EIO=3&EIO=4");
    BOOST_TEST(first.sid.value_or("none") == "a");
    BOOST_TEST(first.eio.value_or("none") == "3");
    BOOST_TEST(first.b64);
    BOOST_TEST(parse_query("/engine.io/?sid=a=b").sid.value_or("none") == "a=b");
    BOOST_TEST(parse_query("/engine.io/?sid").sid.value_or("none") == "");
    BOOST_TEST(!parse_query("/engine.io/").sid);
    // Through Boost.URL: decoded, and an invalid target has no parameters.
    BOOST_TEST(parse_query("/engine.io/?sid=a%2Fb").sid.value_or("none") == "a/b");
    BOOST_TEST(!parse_query("/engine.io/?sid=a b").sid);
    BOOST_TEST(!parse_query("engine.io/?sid=a").sid);
}

BOOST_AUTO_TEST_CASE(agrees_with_boost_url_on_random_targets) {
    // Built from the pieces real and hostile targets are made of, plain characters more often.
    const std::vector<std::string> pieces{"/", "?",    "=",   "&",  "EIO", "sid", "transport", "b64", "4",
                                          "3", "a",    "Z",   "-",  ".",   "_",   "~",         "%2F", "%",
                                          "+", "#",    " ",   "\"", ":",   "@",   "!",         "'",   "(",
                                          "[", "\x01", "%zz", "//", "?&",  "=="};
    std::mt19937 rng(20261207);
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1), length(0, 14), plain(0, 16);
    int direct = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string target = i % 3 ? "/socket.io/" : "";
        for (std::size_t n = length(rng); n > 0; --n) {
            const auto k = pick(rng);
            target += plain(rng) < 12 ? pieces[k % 16] : pieces[k];
        }
        const auto fast = parse_query(target), reference = parse_query_by_url(target);
        BOOST_TEST_CONTEXT("target " << target) {
            BOOST_TEST(same(fast, reference));
        }
        direct += target.find_first_of("%+# \":@!'([\x01") == std::string::npos;
    }
    BOOST_TEST(direct > 5000); // the direct split was exercised, not only the fallback
}

BOOST_AUTO_TEST_SUITE_END()
