#include <sio/options.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

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
