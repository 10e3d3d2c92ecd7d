// Snippets of docs/middlewares.md.
#include <sio/sio.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <optional>
#include <string>

#include "snippets.hpp"

namespace snippets {

using namespace std::chrono_literals;

std::optional<std::string> user_of_token(std::string_view token) {
    if (token == "secret")
        return "alice";
    return std::nullopt;
}

void plain_middleware(sio::server& io) {
    // [snippet mw-plain]
    io.use([](sio::socket socket) -> std::optional<sio::middleware_error> {
        const boost::json::object& auth = socket.handshake().auth; // the client's `auth` option
        auto token = auth.find("token");
        if (token == auth.end() || !token->value().is_string())
            return sio::middleware_error{"no token", nullptr};
        auto user = user_of_token(token->value().get_string());
        if (!user)
            return sio::middleware_error{"bad token", boost::json::object{{"retry", false}}};
        return std::nullopt; // accepted: the next middleware runs, then the connection handler
    });
    // [end]
}

void coroutine_middleware(sio::server& io) {
    // [snippet mw-coroutine]
    io.of("/orders").use(
        [](sio::socket socket) -> boost::asio::awaitable<std::optional<sio::middleware_error>> {
            // A middleware may suspend: ask a database, a cache, another service...
            boost::asio::steady_timer lookup(co_await boost::asio::this_coro::executor, 10ms);
            co_await lookup.async_wait(boost::asio::use_awaitable);
            if (socket.handshake().address.empty())
                co_return sio::middleware_error{"unknown peer", nullptr};
            co_return std::nullopt;
        });
    // [end]
}

void packet_middleware(sio::server& io) {
    // [snippet mw-packet]
    io.on_connection([](sio::socket socket) {
        socket.use([](sio::socket, sio::event& ev) -> std::optional<sio::middleware_error> {
            if (ev.name == "admin:reset")
                return sio::middleware_error{"forbidden event", boost::json::string(ev.name)};
            return std::nullopt; // the event goes on to its handler
        });
        socket.on_error([](sio::socket s, const sio::middleware_error& e) {
            std::cerr << s.id() << ": " << e.message << "\n"; // nothing is sent to the client
        });
    });
    // [end]
}

} // namespace snippets
