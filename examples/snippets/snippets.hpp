// The functions of examples/snippets: the code that the guides in docs/ quote. They are compiled and
// linked into `doc_snippets`, whose main registers every handler on a server that does not listen (a smoke
// test of the registration code); tools/check-doc-snippets.py keeps the quoted text equal to the source.
#pragma once

#include <sio/sio.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace snippets {

// parsers.cpp
sio::server_options msgpack_options();
sio::server_options custom_parser_options();

// serving.cpp
void without_client_bundle();
boost::asio::awaitable<void> serve_https(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls,
                                         sio::server& io);

// server_instance.cpp
int minimal_server();
sio::server_options configured_options();
void only_websocket(sio::server_options& options);
void engine_attributes(sio::server& io);
void engine_generate_id(sio::server& io);
void engine_events(sio::server& io);
void allow_request(sio::server_options& options);
boost::asio::awaitable<void> serve_http(boost::beast::tcp_stream stream, sio::server& io);
int close_on_signal();

// namespaces.cpp
void main_namespace(sio::server& io);
void custom_namespace(sio::server& io);
void dynamic_regex(sio::server& io);
void dynamic_predicate(sio::server& io);
void namespace_middleware(sio::server& io);

// middlewares.cpp
void plain_middleware(sio::server& io);
void coroutine_middleware(sio::server& io);
void packet_middleware(sio::server& io);

// rooms.cpp
void rooms_join(sio::server& io);
void rooms_emit(sio::server& io, sio::socket socket);
void rooms_user(sio::server& io);
void rooms_disconnecting(sio::server& io);

// broadcasting.cpp
void broadcast_targets(sio::server& io, sio::socket socket);
void broadcast_flags(sio::server& io);
boost::asio::awaitable<void> poll_room(sio::server& io);
boost::asio::awaitable<void> ask_the_others(sio::socket socket);
void register_ask_the_others(sio::server& io);

// emitting.cpp
void emit_basic(sio::socket socket);
void listen_events(sio::server& io);
void answer_acks(sio::server& io);
boost::asio::awaitable<void> ask_name(sio::socket socket);
boost::asio::awaitable<void> greet_all(sio::socket socket, std::vector<std::string> names);
void register_ask_name(sio::server& io);
void binary_data(sio::server& io);
void catch_all(sio::server& io);
void socket_flags(sio::socket socket);
boost::asio::awaitable<void> session(sio::socket socket);
void register_session(sio::server& io);
boost::asio::awaitable<void> quiet_clients_leave(sio::socket socket);

// utility_methods.cpp
boost::asio::awaitable<void> tidy_up(sio::server& io, std::string sid, std::vector<std::string> rooms);
boost::asio::awaitable<void> who_is_there(sio::server& io);
void register_promote(sio::server& io);
void spawn_from_plain_code(boost::asio::io_context& ioc, sio::server& io);
void server_side_handlers(sio::server& io);
boost::asio::awaitable<void> talk_to_the_cluster(sio::server& io);

// adapters.cpp
sio::server_options custom_adapter_options();
sio::server_options redis_options();
sio::server_options redis_sharded_server_options();
void room_events(sio::server& io);

} // namespace snippets
