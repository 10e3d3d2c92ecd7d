// sio::admin: the official Admin UI build served at options::ui_path (embedded at build time).
#include <sio/admin.hpp>
#include <sio/sio.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <string>

#include "admin/ui_bundle.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;
using sio::admin::detail::serve_admin_ui;
using sio::admin::detail::ui_file;

namespace {

const std::array<ui_file, 3> files{
    {{"index.html", "<html>page</html>"}, {"js/app.js", "console.log(1)"}, {"LICENSE", "MIT licence"}}};

std::optional<sio::engineio::detail::static_reply> ui_get(std::string_view target,
                                                          std::string_view etag = {}) {
    return serve_admin_ui("/admin/", {target, etag, {}}, files, "0.5.1");
}

std::string header(const sio::engineio::detail::static_reply& r, std::string_view name) {
    return std::string(r.headers.get(name).value_or(""));
}

} // namespace

BOOST_AUTO_TEST_SUITE(routing)

BOOST_AUTO_TEST_CASE(serves_the_page_its_files_and_the_licence) {
    auto page = ui_get("/admin/");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST(page->status == 200u);
    BOOST_TEST(page->body == "<html>page</html>");
    BOOST_TEST(header(*page, "Content-Type") == "text/html; charset=utf-8");
    BOOST_TEST(ui_get("/admin/index.html?x=1")->body == "<html>page</html>");
    auto js = ui_get("/admin/js/app.js");
    BOOST_TEST(js->body == "console.log(1)");
    BOOST_TEST(header(*js, "Content-Type") == "application/javascript; charset=utf-8");
    BOOST_TEST(ui_get("/admin/LICENSE")->body == "MIT licence");
}

BOOST_AUTO_TEST_CASE(redirects_the_bare_path_and_refuses_the_rest) {
    auto bare = ui_get("/admin");
    BOOST_TEST(bare->status == 301u);
    BOOST_TEST(header(*bare, "Location") == "/admin/");
    BOOST_TEST(ui_get("/admin/../etc/passwd")->status == 404u);
    BOOST_TEST(ui_get("/admin/js/app.js.map")->status == 404u);
    BOOST_TEST(!ui_get("/administrator").has_value());
    BOOST_TEST(!ui_get("/socket.io/").has_value());
    BOOST_TEST(!ui_get("/").has_value());
}

BOOST_AUTO_TEST_CASE(answers_304_to_a_matching_etag) {
    const auto etag = header(*ui_get("/admin/"), "ETag");
    BOOST_TEST(etag == "\"admin-ui-0.5.1\"");
    BOOST_TEST(ui_get("/admin/", etag)->status == 304u);
    BOOST_TEST(ui_get("/admin/", "W/" + etag)->status == 304u);
    BOOST_TEST(ui_get("/admin/", "\"other\"")->status == 200u);
}

BOOST_AUTO_TEST_CASE(without_an_embedded_build_every_name_is_404) {
    auto r = serve_admin_ui("/admin/", {"/admin/", {}, {}}, {}, {});
    BOOST_TEST(r->status == 404u);
    BOOST_TEST(r->body.find("built without the Admin UI") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(server)

BOOST_AUTO_TEST_CASE(the_server_serves_the_embedded_ui_on_its_port) {
    sio_server ts;
    sio::admin::options o;
    o.auth_disabled = true;
    o.ui_path = "/dashboard"; // a final '/' is added
    auto admin = sio::admin::instrument(ts.io(), o);
    ts.start();
    net::io_context ioc;
    test_client c(ioc, ts.port());
    auto r = c.request(get_request("/dashboard"));
    BOOST_TEST(r.result_int() == 301);
    BOOST_TEST(std::string(r[http::field::location]) == "/dashboard/");
    test_client c2(ioc, ts.port());
    r = c2.request(get_request("/dashboard/"));
    if (sio::admin::detail::admin_ui_files.empty()) {
        BOOST_TEST_MESSAGE("SKIPPED: the library was built without the Admin UI (client/node_modules)");
        BOOST_TEST(r.result_int() == 404);
        return;
    }
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(std::string(r[http::field::content_type]) == "text/html; charset=utf-8");
    BOOST_TEST(r.body().find("<title>") != std::string::npos);
    test_client c3(ioc, ts.port());
    r = c3.request(get_request("/dashboard/LICENSE"));
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(r.body().find("The Socket.IO team") != std::string::npos);
    // Every file index.html names is served.
    for (const auto& f : sio::admin::detail::admin_ui_files)
        if (f.name.ends_with(".js") || f.name.ends_with(".css")) {
            test_client cf(ioc, ts.port());
            BOOST_TEST(cf.request(get_request("/dashboard/" + std::string(f.name))).result_int() == 200);
        }
    // Engine.IO is still there.
    test_client c4(ioc, ts.port());
    BOOST_TEST(c4.request(get_request("/socket.io/?EIO=4&transport=polling")).result_int() == 200);
}

BOOST_AUTO_TEST_CASE(a_ui_path_under_the_engine_path_is_refused) {
    sio_server ts;
    sio::admin::options o;
    o.auth_disabled = true;
    o.ui_path = "/socket.io/ui/";
    BOOST_CHECK_THROW(static_cast<void>(sio::admin::instrument(ts.io(), o)), std::invalid_argument);
    o.ui_path = "admin/";
    BOOST_CHECK_THROW(static_cast<void>(sio::admin::instrument(ts.io(), o)), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
