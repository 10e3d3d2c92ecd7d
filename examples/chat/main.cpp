// The Socket.IO chat: open http://localhost:3000 in two browser windows.
//
// A C++ server and a small web page (examples/chat/public) that uses only the official browser client,
// served by sio itself at /socket.io/socket.io.min.js. The page and sio share one port: a Boost.Beast
// HTTP server serves the files and hands /socket.io/ requests to sio (see site.cpp).
//
// Env: PORT (3000; 0 picks a free port), PUBLIC_DIR (the page's folder), PARSER (`msgpack`: the msgpack
// parser, and the page loads /socket.io/socket.io.msgpack.min.js; otherwise the default JSON parser).
// Stops on SIGINT/SIGTERM, closing every connection gracefully.
// ADMIN_PASSWORD_HASH (a bcrypt hash, e.g. from `htpasswd -nbBC 12 admin secret`): the Admin UI namespace
// "/admin" with user "admin" and that password, for the hosted UI at https://admin.socket.io (CORS for that
// origin only), and the official UI served by sio itself at http://localhost:3000/admin/ (same port).
// ADMIN_INSECURE_NO_AUTH=1: the same without authentication (anyone who reaches the port sees and
// disconnects every user: for a local demo or a test only). See docs/admin-ui.md.
// RECOVERY=1: connection state recovery (docs/connection-state-recovery.md): a user whose Wi-Fi drops comes
// back as the same user, in the same channel, and sees what was said meanwhile (each event then carries its
// offset as a last argument, which the page ignores).
#include <sio/admin.hpp>
#include <sio/sio.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>
#include <string_view>

#include "chat.hpp"
#include "site.hpp"

#ifndef CHAT_PUBLIC_DIR
#define CHAT_PUBLIC_DIR "public"
#endif

namespace net = boost::asio;

int main() {
    const char* port_env = std::getenv("PORT");
    const char* public_env = std::getenv("PUBLIC_DIR");
    const auto port = static_cast<std::uint16_t>(port_env ? std::atoi(port_env) : 3000);

    const char* parser_env = std::getenv("PARSER");
    const bool msgpack = parser_env && std::string_view(parser_env) == "msgpack";
    const char* admin_hash = std::getenv("ADMIN_PASSWORD_HASH");
    const char* admin_no_auth_env = std::getenv("ADMIN_INSECURE_NO_AUTH");
    const bool admin_no_auth = admin_no_auth_env && std::string_view(admin_no_auth_env) == "1";

    net::io_context ioc;
    sio::server_options options;
    if (msgpack)
        options.parser =
            sio::protocol::msgpack_parser(); // the one option; the page loads the matching bundle
    if (admin_hash || admin_no_auth)         // the dashboard's packet and byte counts come from the metrics
        options.metrics = sio::metrics_options{};
    if (admin_hash) { // the hosted Admin UI connects from its own origin, with credentials
        sio::cors_options cors;
        cors.origins = {"https://admin.socket.io"};
        cors.credentials = true;
        options.engine.cors = cors;
    }
    sio::server* io_ptr = nullptr; // for the recovery hook, which runs only once the server exists
    if (const char* recovery_env = std::getenv("RECOVERY");
        recovery_env && std::string_view(recovery_env) == "1")
        options.connection_state_recovery = chat::recovery_options(io_ptr, ioc.get_executor());
    sio::server io(ioc.get_executor(), options);
    io_ptr = &io;
    sio::admin::instrumentation admin;
    if (admin_hash || admin_no_auth) {
        sio::admin::options admin_options;
        if (admin_hash)
            admin_options.auth = sio::admin::basic_auth{"admin", admin_hash};
        else
            admin_options.auth_disabled = true;
        admin_options.ui_path = "/admin/";                 // the dashboard on this port
        admin = sio::admin::instrument(io, admin_options); // throws for a malformed hash
    }
    chat::install(io);

    net::ip::tcp::acceptor acceptor(ioc);
    if (const auto ec = chat::open_acceptor(acceptor, port)) {
        std::cerr << "chat: cannot listen on port " << port << ": " << ec.message() << "\n";
        return 1;
    }
    chat::serve_site(acceptor, io, public_env ? public_env : CHAT_PUBLIC_DIR,
                     msgpack ? "socket.io.msgpack.min.js" : "socket.io.min.js",
                     admin_hash || admin_no_auth ? "/admin" : "");
    std::cout << "chat: open http://localhost:" << acceptor.local_endpoint().port() << std::endl;

    chat::run_until_signal(ioc, acceptor, io);
}
