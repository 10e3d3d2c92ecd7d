// The one main() of every Boost.Test program (linked from the sio_test_support library), so the test files
// need no BOOST_TEST_MODULE and can share one precompiled header. The master suite takes the program's name.
#define BOOST_TEST_MODULE sio
#include <boost/test/unit_test.hpp>

#include <filesystem>

namespace {

struct name_the_master_suite {
    name_the_master_suite() {
        auto& master = boost::unit_test::framework::master_test_suite();
        if (master.argc > 0)
            master.p_name.value = std::filesystem::path(master.argv[0]).filename().string();
    }
};
BOOST_TEST_GLOBAL_CONFIGURATION(name_the_master_suite);

} // namespace
