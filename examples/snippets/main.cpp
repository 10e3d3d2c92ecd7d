// doc_snippets: registers every snippet's handlers on servers that do not listen, runs the operations that
// need no client (broadcasts to nobody, utility methods with the memory adapter), then exits 0. Run by the
// CTest test `doc_snippets`; the snippets that start a server or wait for a signal are only linked.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <iostream>

#include "snippets.hpp"

namespace {

boost::asio::awaitable<void> no_client_operations(sio::server& io, std::vector<std::string> rooms,
                                                  bool& done) {
    co_await snippets::tidy_up(io, "no-such-socket", std::move(rooms));
    co_await snippets::who_is_there(io);
    co_await snippets::poll_room(io);
    co_await snippets::talk_to_the_cluster(io);
    done = true;
}

} // namespace

int main() {
    // Linked only (they listen on fixed ports or wait for a signal).
    [[maybe_unused]] int (*linked[])() = {&snippets::minimal_server, &snippets::close_on_signal};
    [[maybe_unused]] auto serve = &snippets::serve_http;
    [[maybe_unused]] auto custom = &snippets::custom_adapter_options;
    [[maybe_unused]] auto redis = &snippets::redis_options;
    [[maybe_unused]] auto ask_others = &snippets::ask_the_others;
    [[maybe_unused]] auto ask = &snippets::ask_name;
    [[maybe_unused]] auto greet = &snippets::greet_all;
    [[maybe_unused]] auto emit = &snippets::emit_basic;
    [[maybe_unused]] auto flags = &snippets::socket_flags;
    [[maybe_unused]] auto targets = &snippets::broadcast_targets;
    [[maybe_unused]] auto to_rooms = &snippets::rooms_emit;

    boost::asio::io_context ioc;
    sio::server_options options = snippets::configured_options();
    snippets::only_websocket(options);
    snippets::allow_request(options);
    sio::server io(ioc.get_executor(), options);
    snippets::without_client_bundle();
    { // servers with the other parsers (not listening)
        sio::server with_msgpack(ioc.get_executor(), snippets::msgpack_options());
        sio::server with_custom(ioc.get_executor(), snippets::custom_parser_options());
    }
    snippets::engine_attributes(io);
    snippets::engine_generate_id(io);
    snippets::engine_events(io);
    snippets::main_namespace(io);
    snippets::custom_namespace(io);
    snippets::dynamic_regex(io);
    snippets::dynamic_predicate(io);
    snippets::namespace_middleware(io);
    snippets::plain_middleware(io);
    snippets::coroutine_middleware(io);
    snippets::packet_middleware(io);
    snippets::rooms_join(io);
    snippets::rooms_user(io);
    snippets::rooms_disconnecting(io);
    snippets::broadcast_flags(io);
    snippets::register_ask_the_others(io);
    snippets::listen_events(io);
    snippets::answer_acks(io);
    snippets::register_ask_name(io);
    snippets::binary_data(io);
    snippets::catch_all(io);
    snippets::register_session(io);
    io.of("/quiet").on_connection(snippets::quiet_clients_leave);
    snippets::register_promote(io);
    snippets::spawn_from_plain_code(ioc, io);
    snippets::server_side_handlers(io);
    snippets::room_events(io);

    bool done = false;
    std::vector<std::string> rooms{"room1"};
    boost::asio::co_spawn(ioc, no_client_operations(io, std::move(rooms), done), boost::asio::detached);
    ioc.run_for(std::chrono::seconds(10));
    static_cast<void>(io.close(std::chrono::milliseconds(0))); // at once; nothing waits for it here
    if (!done) {
        std::cerr << "doc_snippets: the operations did not complete\n";
        return 1;
    }
    std::cout << "doc_snippets: ok\n";
    return 0;
}
