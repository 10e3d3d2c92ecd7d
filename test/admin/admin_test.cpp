// sio::admin: bcrypt verification, the options instrument() refuses, the session store, and the payloads of
// the Admin UI protocol (checked without a server).
#include <sio/admin.hpp>
#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "admin/payloads.hpp"

namespace json = boost::json;
using namespace sio::admin;

namespace {

// "changeit", cost 4, made with the system's crypt (libxcrypt).
constexpr const char* changeit_2b = "$2b$04$OZEpdvSaWIbbUPjsIVsbvuTVZYB1lNtGVc7GGvgHJWeG83GC0hFhq";

std::string with_prefix(std::string hash, char variant) {
    hash[2] = variant;
    return hash;
}

bool store_has(session_store& store, const std::string& id) {
    boost::asio::io_context ioc;
    auto f = boost::asio::co_spawn(ioc, store.exists(id), boost::asio::use_future);
    ioc.run();
    return f.get();
}

} // namespace

BOOST_AUTO_TEST_SUITE(bcrypt)

BOOST_AUTO_TEST_CASE(the_right_password_matches_with_every_prefix) {
    BOOST_TEST(bcrypt_verify("changeit", changeit_2b));
    BOOST_TEST(bcrypt_verify("changeit", with_prefix(changeit_2b, 'a')));
    BOOST_TEST(bcrypt_verify("changeit", with_prefix(changeit_2b, 'y')));
}

BOOST_AUTO_TEST_CASE(wrong_passwords_do_not_match) {
    BOOST_TEST(!bcrypt_verify("changeIt", changeit_2b));
    BOOST_TEST(!bcrypt_verify("", changeit_2b));
    BOOST_TEST(!bcrypt_verify(std::string("changeit\0x", 10), changeit_2b));
    BOOST_TEST(!bcrypt_verify(std::string(100000, 'a'), changeit_2b));
}

BOOST_AUTO_TEST_CASE(malformed_hashes_are_refused) {
    const std::string good = changeit_2b;
    BOOST_TEST(is_bcrypt_hash(good));
    BOOST_TEST(!is_bcrypt_hash(""));
    BOOST_TEST(!is_bcrypt_hash("changeit"));
    BOOST_TEST(!is_bcrypt_hash(good.substr(0, 59)));
    BOOST_TEST(!is_bcrypt_hash(good + "A"));
    BOOST_TEST(!is_bcrypt_hash(with_prefix(good, 'x')));
    BOOST_TEST(!is_bcrypt_hash("$2b$03" + good.substr(6))); // cost below 4
    BOOST_TEST(!is_bcrypt_hash("$2b$32" + good.substr(6))); // cost above 31
    BOOST_TEST(!is_bcrypt_hash("$2b$1a" + good.substr(6)));
    BOOST_TEST(!is_bcrypt_hash(good.substr(0, 20) + "!" + good.substr(21)));
    BOOST_TEST(!is_bcrypt_hash("$1$abcdefgh$" + std::string(48, 'a'))); // another scheme
    BOOST_TEST(!bcrypt_verify("changeit", good.substr(0, 59)));
    BOOST_TEST(!bcrypt_verify("changeit", "$2b$04$"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(instrument_options)

BOOST_AUTO_TEST_CASE(refuses_what_cannot_work) {
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor());
    BOOST_CHECK_THROW((void)instrument(io, {}), std::invalid_argument); // no auth decision
    options plain;
    plain.auth = basic_auth{"admin", "changeit"}; // a password, not a hash
    BOOST_CHECK_THROW((void)instrument(io, plain), std::invalid_argument);
    options both;
    both.auth = basic_auth{"admin", changeit_2b};
    both.auth_disabled = true;
    BOOST_CHECK_THROW((void)instrument(io, both), std::invalid_argument);
    options no_user;
    no_user.auth = basic_auth{"", changeit_2b};
    BOOST_CHECK_THROW((void)instrument(io, no_user), std::invalid_argument);
    // Well formed, but the last salt character carries bits bcrypt drops: crypt_r gives another salt
    // back, so no password could ever match. Refused at once, not at the first login.
    options unusable;
    unusable.auth = basic_auth{"admin", "$2b$04$OZEpdvSaWIbbUPjsIVsbvzTVZYB1lNtGVc7GGvgHJWeG83GC0hFhq"};
    BOOST_TEST(is_bcrypt_hash(unusable.auth->password_hash));
    BOOST_TEST(!detail::bcrypt_hash_usable(unusable.auth->password_hash));
    BOOST_CHECK_THROW((void)instrument(io, unusable), std::invalid_argument);
    BOOST_TEST(detail::bcrypt_hash_usable(changeit_2b));
    BOOST_TEST(detail::bcrypt_hash_usable(with_prefix(changeit_2b, 'a')));
    BOOST_TEST(detail::bcrypt_hash_usable(with_prefix(changeit_2b, 'y')));
    // A high cost is checked at the lowest one: no wait at start-up.
    BOOST_TEST(detail::bcrypt_hash_usable("$2b$31" + std::string(changeit_2b).substr(6)));
    options bad_nsp;
    bad_nsp.auth_disabled = true;
    bad_nsp.namespace_name = "admin";
    BOOST_CHECK_THROW((void)instrument(io, bad_nsp), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(server_id_defaults_to_host_pid_and_a_random_suffix) {
    boost::asio::io_context ioc;
    sio::server io(ioc.get_executor());
    options o;
    o.auth_disabled = true;
    auto a = instrument(io, o);
    const std::string prefix = detail::host_name() + "#" + std::to_string(getpid()) + "-";
    BOOST_TEST(a.server_id().starts_with(prefix));
    const auto suffix = a.server_id().substr(prefix.size());
    BOOST_TEST(suffix.size() == 6u);
    BOOST_TEST(suffix.find_first_not_of("0123456789abcdef") == std::string::npos);
    // Two servers of one process (or two containers with pid 1 and one host name) differ.
    BOOST_TEST(detail::default_server_id() != detail::default_server_id());
    a.stop();
    sio::server io2(ioc.get_executor());
    o.server_id = "node-1";
    auto b = instrument(io2, o);
    BOOST_TEST(b.server_id() == "node-1");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sessions)

BOOST_AUTO_TEST_CASE(ids_are_16_hex_characters) {
    auto a = detail::new_session_id();
    auto b = detail::new_session_id();
    BOOST_TEST(detail::is_session_id(a));
    BOOST_TEST(a != b);
    BOOST_TEST(!detail::is_session_id("0123456789abcdeF"));
    BOOST_TEST(!detail::is_session_id("0123456789abcde"));
    BOOST_TEST(!detail::is_session_id("../../etc/passwd"));
    BOOST_TEST(!detail::is_session_id(std::string(100000, 'a')));
}

BOOST_AUTO_TEST_CASE(the_memory_store_knows_saved_ids_only) {
    auto store = make_memory_store();
    store->save("0123456789abcdef");
    BOOST_TEST(store_has(*store, "0123456789abcdef"));
    BOOST_TEST(!store_has(*store, "0123456789abcdee"));
}

BOOST_AUTO_TEST_CASE(the_memory_store_drops_the_oldest_beyond_its_capacity) {
    auto store = make_memory_store(std::chrono::hours(1), 2);
    store->save("000000000000000a");
    store->save("000000000000000b");
    store->save("000000000000000c");
    BOOST_TEST(!store_has(*store, "000000000000000a"));
    BOOST_TEST(store_has(*store, "000000000000000b"));
    BOOST_TEST(store_has(*store, "000000000000000c"));
}

BOOST_AUTO_TEST_CASE(expired_ids_are_unknown) {
    auto store = make_memory_store(std::chrono::seconds(0));
    store->save("000000000000000a");
    BOOST_TEST(!store_has(*store, "000000000000000a"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(payloads)

BOOST_AUTO_TEST_CASE(features_per_mode_and_readonly) {
    BOOST_TEST(
        json::serialize(detail::supported_features(false, mode::development)) ==
        R"(["EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT","AGGREGATED_EVENTS","ALL_EVENTS"])");
    BOOST_TEST(json::serialize(detail::supported_features(true, mode::development)) ==
               R"(["AGGREGATED_EVENTS","ALL_EVENTS"])");
    BOOST_TEST(json::serialize(detail::supported_features(false, mode::production)) ==
               R"(["EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT","AGGREGATED_EVENTS"])");
    BOOST_TEST(json::serialize(detail::supported_features(true, mode::production)) ==
               R"(["AGGREGATED_EVENTS"])");
}

BOOST_AUTO_TEST_CASE(dates_are_iso_strings_in_utc) {
    using namespace std::chrono;
    const system_clock::time_point t{milliseconds(1700000000123)};
    BOOST_TEST(detail::iso_date(t) == "2023-11-14T22:13:20.123Z");
}

BOOST_AUTO_TEST_CASE(a_serialized_socket_has_the_ui_fields) {
    sio::socket_details d;
    d.id = "sid1";
    d.handshake.address = "127.0.0.1";
    d.handshake.headers.add("Host", "localhost:3000");
    d.handshake.headers.add("X-Forwarded-For", "10.0.0.7");
    d.handshake.query = {{"EIO", "4"}, {"transport", "polling"}};
    d.handshake.issued = 1700000000123;
    d.handshake.time = "Tue Nov 14 2023";
    d.handshake.url = "/socket.io/?EIO=4&transport=polling";
    d.handshake.auth = json::object{{"token", "secret"}};
    d.rooms = {"sid1", "room1"};
    d.data =
        json::object{{"user", "ann"}, {"_admin", detail::admin_field("ABCDEFGHIJKLMNOPQRST", "polling")}};
    auto s = detail::serialize_socket(d, "/chat", std::string_view("websocket"));
    BOOST_TEST(s["id"] == "sid1");
    BOOST_TEST(s["clientId"] == "ABCDEFGHIJKL");
    BOOST_TEST(s["transport"] == "websocket"); // the live transport wins over the recorded one
    BOOST_TEST(s["nsp"] == "/chat");
    BOOST_TEST(json::serialize(s["data"]) == R"({"user":"ann"})");
    const auto& h = s["handshake"].as_object();
    BOOST_TEST(h.at("address") == "10.0.0.7");
    BOOST_TEST(h.at("headers").as_object().at("host") == "localhost:3000");
    BOOST_TEST(h.at("query").as_object().at("EIO") == "4");
    BOOST_TEST(h.at("issued") == 1700000000123);
    BOOST_TEST(h.at("url") == "/socket.io/?EIO=4&transport=polling");
    BOOST_TEST(!h.contains("auth")); // never sent to the UI
    BOOST_TEST(json::serialize(s["rooms"]) == R"(["sid1","room1"])");
    auto recorded = detail::serialize_socket(d, "/chat");
    BOOST_TEST(recorded["transport"] == "polling");
}

BOOST_AUTO_TEST_CASE(cf_connecting_ip_comes_first) {
    sio::socket_details d;
    d.handshake.address = "127.0.0.1";
    d.handshake.headers.add("x-forwarded-for", "10.0.0.7");
    d.handshake.headers.add("cf-connecting-ip", "10.0.0.8");
    BOOST_TEST(detail::serialize_socket(d, "/")["handshake"].as_object().at("address") == "10.0.0.8");
    sio::socket_details plain;
    plain.handshake.address = "127.0.0.1";
    plain.data = json::array{1, 2}; // not an object: kept as it is
    auto s = detail::serialize_socket(plain, "/");
    BOOST_TEST(s["handshake"].as_object().at("address") == "127.0.0.1");
    BOOST_TEST(s["clientId"].is_null());
    BOOST_TEST(json::serialize(s["data"]) == "[1,2]");
}

BOOST_AUTO_TEST_CASE(command_rooms_and_filters_are_capped) {
    BOOST_TEST(detail::parse_rooms(json::value("r"))->size() == 1u);
    BOOST_TEST(detail::parse_rooms(json::array{"a", "b"})->size() == 2u);
    BOOST_TEST(!detail::parse_rooms(json::value("")));
    BOOST_TEST(!detail::parse_rooms(json::value(nullptr)));
    BOOST_TEST(!detail::parse_rooms(json::value(42)));
    BOOST_TEST(!detail::parse_rooms(json::array{}));
    BOOST_TEST(!detail::parse_rooms(json::array{"a", 1}));
    BOOST_TEST(!detail::parse_rooms(json::value(std::string(detail::max_name_size + 1, 'r'))));
    BOOST_TEST(detail::parse_rooms(json::value(std::string(detail::max_name_size, 'r'))).has_value());
    json::array many;
    for (std::size_t i = 0; i <= detail::max_room_count; ++i)
        many.emplace_back("r" + std::to_string(i));
    BOOST_TEST(!detail::parse_rooms(many));
    BOOST_TEST(detail::parse_filter(nullptr)->empty());
    const json::value none = nullptr, no = false, empty = "", obj = json::object{};
    BOOST_TEST(detail::parse_filter(&none)->empty());
    BOOST_TEST(detail::parse_filter(&no)->empty());
    BOOST_TEST(detail::parse_filter(&empty)->empty());
    BOOST_TEST(!detail::parse_filter(&obj));
}

BOOST_AUTO_TEST_CASE(aggregated_events_nobody_took_are_forgotten_after_a_while) {
    detail::aggregated_events agg;
    agg.add("rawConnection");
    agg.forget_before(std::chrono::system_clock::now() - std::chrono::seconds(4));
    BOOST_TEST(agg.take().size() == 1u); // recent: kept for the next admin
    agg.add("rawConnection");
    agg.forget_before(std::chrono::system_clock::now() + std::chrono::seconds(2));
    BOOST_TEST(agg.take().empty());
}

BOOST_AUTO_TEST_CASE(aggregated_events_are_counted_per_second_and_cleared) {
    detail::aggregated_events agg;
    agg.add("rawConnection");
    agg.add("rawConnection");
    agg.add("rawDisconnection", "transport close");
    auto taken = agg.take();
    std::uint64_t connections = 0, disconnections = 0;
    for (const auto& e : taken) {
        const auto& o = e.as_object();
        BOOST_TEST(o.at("timestamp").as_int64() % 1000 == 0);
        if (o.at("type") == "rawConnection") {
            connections += o.at("count").to_number<std::uint64_t>();
            BOOST_TEST(!o.contains("subType"));
        } else {
            BOOST_TEST(o.at("subType") == "transport close");
            disconnections += o.at("count").to_number<std::uint64_t>();
        }
    }
    BOOST_TEST(connections == 2u);
    BOOST_TEST(disconnections == 1u);
    BOOST_TEST(agg.take().empty());
}

BOOST_AUTO_TEST_CASE(aggregated_keys_are_bounded) {
    detail::aggregated_events agg;
    for (std::size_t i = 0; i < detail::aggregated_events::max_keys + 100; ++i)
        agg.add("rawDisconnection", "reason " + std::to_string(i));
    BOOST_TEST(agg.take().size() <= detail::aggregated_events::max_keys);
}

BOOST_AUTO_TEST_CASE(server_stats_shape) {
    auto s = detail::server_stats("srv#1", "host", 42, 1.5, 3, 1, json::array{}, {{"/", 2}, {"/admin", 1}});
    BOOST_TEST(json::serialize(s) ==
               R"({"serverId":"srv#1","hostname":"host","pid":42,"uptime":1.5E0,"clientsCount":3,)"
               R"("pollingClientsCount":1,"aggregatedEvents":[],"namespaces":[{"name":"/","socketsCount":2},)"
               R"({"name":"/admin","socketsCount":1}]})");
}

BOOST_AUTO_TEST_SUITE_END()
