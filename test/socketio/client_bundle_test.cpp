// The served browser client (Node's serveClient): path matching, headers, 304, compression, 404s.
#include <boost/test/unit_test.hpp>

#include <array>
#include <string>

#include "socketio/client_bundle.hpp"
#include <zlib.h>

using sio::detail::client_bundle_file;
using sio::detail::serve_client_bundle;
using sio::engineio::detail::static_request;

namespace {

const std::array<client_bundle_file, 3> files{{
    {"socket.io.js", "console.log('full');"},
    {"socket.io.min.js", "min"},
    {"socket.io.min.js.map", "{\"version\":3}"},
}};

auto serve(std::string_view target, std::string_view inm = {}, std::string_view ae = {}) {
    return serve_client_bundle("/socket.io", static_request{target, inm, ae}, files, "4.8.1");
}

std::string gunzip(const std::string& in) {
    z_stream zs{};
    BOOST_REQUIRE(inflateInit2(&zs, 31) == Z_OK);
    std::string out(1 << 16, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    BOOST_REQUIRE(inflate(&zs, Z_FINISH) == Z_STREAM_END);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(only_the_reference_pattern_is_a_bundle_path) {
    for (std::string_view t : {"/socket.io/", "/socket.io/?EIO=4&transport=polling", "/socket.io/socket.io",
                               "/socket.io/socket.io.jsx", "/socket.io/socket.io.min.min.js", "/socket.io.js",
                               "/other/socket.io.js", "/socket.io/x/socket.io.js", "/socket.iox/socket.io.js",
                               "/socket.io/socket.io.esm.msgpack.js", "/socket.io/socket.io.js.map.map"})
        BOOST_TEST(!serve(t).has_value(), t);
    for (std::string_view t :
         {"/socket.io/socket.io.js", "/socket.io/socket.io.js?v=1", "/socket.io/socket.io.min.js",
          "/socket.io/socket.io.min.js.map", "/socket.io/socket.io.esm.min.js",
          "/socket.io/socket.io.msgpack.min.js.map", "/socket.io/socket.io.esm.js"})
        BOOST_TEST(serve(t).has_value(), t);
}

BOOST_AUTO_TEST_CASE(a_file_is_served_with_the_reference_headers) {
    auto r = serve("/socket.io/socket.io.js?x=1");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == 200u);
    BOOST_TEST(r->body == "console.log('full');");
    BOOST_TEST(*r->headers.get("Content-Type") == "application/javascript; charset=utf-8");
    BOOST_TEST(*r->headers.get("ETag") == "\"4.8.1\"");
    BOOST_TEST(*r->headers.get("Cache-Control") == "public, max-age=0");
    BOOST_TEST(!r->headers.get("Content-Encoding"));
    auto map = serve("/socket.io/socket.io.min.js.map");
    BOOST_REQUIRE(map);
    BOOST_TEST(*map->headers.get("Content-Type") == "application/json; charset=utf-8");
    BOOST_TEST(map->body == "{\"version\":3}");
}

BOOST_AUTO_TEST_CASE(a_matching_etag_gets_304_strong_or_weak) {
    BOOST_TEST(serve("/socket.io/socket.io.js", "\"4.8.1\"")->status == 304u);
    BOOST_TEST(serve("/socket.io/socket.io.js", "W/\"4.8.1\"")->status == 304u);
    BOOST_TEST(serve("/socket.io/socket.io.js", "W/\"4.8.1\"")->body.empty());
    BOOST_TEST(serve("/socket.io/socket.io.js", "\"4.8.0\"")->status == 200u);
    BOOST_TEST(serve("/socket.io/socket.io.js", "4.8.1")->status == 200u);
}

BOOST_AUTO_TEST_CASE(gzip_or_deflate_when_accepted) {
    auto gz = serve("/socket.io/socket.io.js", {}, "gzip, deflate, br");
    BOOST_REQUIRE(gz);
    BOOST_TEST(*gz->headers.get("Content-Encoding") == "gzip");
    BOOST_TEST(gunzip(gz->body) == "console.log('full');");
    auto df = serve("/socket.io/socket.io.js", {}, "deflate");
    BOOST_TEST(*df->headers.get("Content-Encoding") == "deflate");
    auto none = serve("/socket.io/socket.io.js", {}, "gzip;q=0, identity");
    BOOST_TEST(!none->headers.get("Content-Encoding"));
    BOOST_TEST(none->body == "console.log('full');");
    auto star = serve("/socket.io/socket.io.js", {}, "*");
    BOOST_TEST(*star->headers.get("Content-Encoding") == "gzip");
}

BOOST_AUTO_TEST_CASE(missing_files_and_a_library_without_the_bundle_answer_404) {
    auto missing = serve("/socket.io/socket.io.esm.min.js");
    BOOST_REQUIRE(missing);
    BOOST_TEST(missing->status == 404u);
    auto none = serve_client_bundle("/socket.io", static_request{"/socket.io/socket.io.js", {}, {}}, {}, {});
    BOOST_REQUIRE(none);
    BOOST_TEST(none->status == 404u);
    BOOST_TEST(none->body.find("without the socket.io-client bundle") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_path_option_is_honoured) {
    auto r =
        serve_client_bundle("/my-path/", static_request{"/my-path/socket.io.min.js", {}, {}}, files, "1");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->body == "min");
    BOOST_TEST(
        !serve_client_bundle("/my-path", static_request{"/socket.io/socket.io.min.js", {}, {}}, files, "1"));
}

BOOST_AUTO_TEST_CASE(the_embedded_bundle_when_built_in) {
    if (sio::detail::client_bundle.empty())
        return; // built without client/node_modules: the 404 case above covers it
    BOOST_TEST(sio::detail::client_bundle.size() == 8u);
    BOOST_TEST(!sio::detail::client_bundle_version.empty());
    for (const auto& f : sio::detail::client_bundle)
        BOOST_TEST(f.data.size() > 1000u, f.name);
    auto r = serve_client_bundle("/socket.io", static_request{"/socket.io/socket.io.min.js", {}, {}});
    BOOST_REQUIRE(r);
    BOOST_TEST(r->body.find("io") != std::string::npos);
}
