// A minimal static web site on a Boost.Beast HTTP server whose port sio shares: requests under the
// Socket.IO path (including the served client bundle) go to sio, the others are files of one folder.
#pragma once
#include <sio/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <filesystem>
#include <string>

namespace chat {

/// Accepts on `acceptor` until it is closed; serves GET/HEAD for the files directly in `root`
/// ("/" is index.html) and hands everything under io's path to sio. `io` must outlive the connections.
/// `client_bundle`: the browser client index.html loads from sio (`socket.io.msgpack.min.js` for a server
/// with the msgpack parser). `sio_prefix` (when not empty): requests under it go to sio too (the Admin UI
/// page that sio serves).
void serve_site(boost::asio::ip::tcp::acceptor& acceptor, sio::server& io, std::filesystem::path root,
                std::string client_bundle = "socket.io.min.js", std::string sio_prefix = {});

/// Opens `acceptor` on 0.0.0.0:`port` (0: a free port), address reuse on.
boost::system::error_code open_acceptor(boost::asio::ip::tcp::acceptor& acceptor, std::uint16_t port);

/// Runs `ioc` until SIGINT/SIGTERM; then stops accepting, closes `io` gracefully (every socket gets
/// "server shutting down" and its queued packets, at most 2 s) and stops `ioc` (idle keep-alive
/// connections of the site do not hold the exit).
void run_until_signal(boost::asio::io_context& ioc, boost::asio::ip::tcp::acceptor& acceptor,
                      sio::server& io);

} // namespace chat
