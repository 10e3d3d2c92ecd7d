// The Admin UI's `all_sockets` in a cluster where one server never answers: every namespace is fetched at
// the same time, so the list comes after one request timeout (not one per namespace), with the sockets of
// the servers that answered.
#include <sio/admin.hpp>
#include <sio/sio.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "support/bus_adapter.hpp"
#include "support/sio_loopback.hpp"

using namespace sio_test;
using namespace std::chrono_literals;

namespace {

sio::server_options on_bus(bus& b, std::string uid, bool deaf, std::chrono::milliseconds requests_timeout) {
    sio::server_options o;
    o.adapter = bus_adapter::factory(b, std::move(uid), deaf, requests_timeout);
    return o;
}

/// The ids of the sockets of an `all_sockets` packet (`42/admin,["all_sockets",[...]]`), sorted.
std::vector<std::string> listed_ids(const std::string& packet) {
    const auto event = boost::json::parse(packet.substr(packet.find('['))).as_array();
    std::vector<std::string> out;
    for (const auto& s : event.at(1).as_array())
        out.emplace_back(s.at("id").as_string());
    return sorted(std::move(out));
}

} // namespace

BOOST_AUTO_TEST_SUITE(all_sockets)

BOOST_AUTO_TEST_CASE(a_silent_server_delays_the_list_by_one_request_timeout_only) {
    constexpr auto timeout = 400ms;
    bus medium;
    sio_server one{on_bus(medium, "one", false, timeout)}; // the UI's server
    sio_server two{on_bus(medium, "two", false, timeout)};
    sio_server deaf{on_bus(medium, "deaf", true, timeout)}; // hears no request: never answers
    const std::vector<std::string> names{"/", "/a", "/b", "/c", "/d"};
    for (auto* s : {&one, &two, &deaf})
        for (const auto& n : names)
            s->io().of(n);
    sio::admin::options o;
    o.auth_disabled = true;
    auto admin = sio::admin::instrument(one.io(), o);
    one.start();
    two.start();
    deaf.start();

    auto local = one.client();
    const auto local_id = local.connect("/a");
    auto remote = two.client();
    const auto remote_id = remote.connect("/c");
    auto unseen = deaf.client();
    (void)unseen.connect("/c");

    auto ui = one.client();
    const auto started = std::chrono::steady_clock::now();
    const auto ui_id = ui.connect("/admin");
    std::string all;
    while (all.empty()) // config, notifications and statistics come too
        if (auto m = ui.read(); m.starts_with(R"(42/admin,["all_sockets",)"))
            all = m;
    const auto elapsed = std::chrono::steady_clock::now() - started;

    BOOST_TEST(listed_ids(all) == sorted({local_id, remote_id, ui_id}), boost::test_tools::per_element());
    // Five namespaces wait for the silent server: one after another they would take five timeouts.
    BOOST_TEST(elapsed >= timeout);
    BOOST_TEST(elapsed < 3 * timeout, std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                                          << " ms");
    admin.stop();
}

BOOST_AUTO_TEST_SUITE_END()
