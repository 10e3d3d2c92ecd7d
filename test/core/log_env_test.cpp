// The DEBUG environment variable: applied once, when the first server is constructed, unless the
// application configured the scopes itself. Its own executable: the setting is process-wide and read once.
#include <sio/engineio/server.hpp>
#include <sio/log.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>

BOOST_AUTO_TEST_CASE(debug_variable_is_read_by_the_first_server) {
    using sio::log_level;
    using sio::log_scope;
    ::setenv("DEBUG", "engine,socket.io*,-socket.io-adapter", 1);
    BOOST_TEST(!sio::log_enabled(log_scope::engine, log_level::debug)); // not read before a server exists
    boost::asio::io_context ioc;
    { sio::engineio::server first(ioc.get_executor()); }
    BOOST_TEST(sio::log_enabled(log_scope::engine, log_level::debug));
    BOOST_TEST(!sio::log_enabled(log_scope::engine_ws, log_level::debug));
    BOOST_TEST(sio::log_enabled(log_scope::server, log_level::debug));
    BOOST_TEST(sio::log_enabled(log_scope::parser, log_level::debug));
    BOOST_TEST(!sio::log_enabled(log_scope::adapter, log_level::debug));

    // Read once: a later change of the variable, or a later server, changes nothing.
    ::setenv("DEBUG", "engine:ws", 1);
    { sio::engineio::server second(ioc.get_executor()); }
    sio::enable_log_scopes_from_environment();
    BOOST_TEST(sio::log_enabled(log_scope::engine, log_level::debug));
    BOOST_TEST(!sio::log_enabled(log_scope::engine_ws, log_level::debug));

    // The application's own setting wins.
    sio::enable_log_scopes("engine:ws");
    BOOST_TEST(!sio::log_enabled(log_scope::engine, log_level::debug));
    BOOST_TEST(sio::log_enabled(log_scope::engine_ws, log_level::debug));
    ::unsetenv("DEBUG");
}
