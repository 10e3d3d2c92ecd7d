// A minimal static web site on a Boost.Beast HTTP server whose port sio shares: requests under the
// Socket.IO path (including the served client bundle) go to sio, the others are files of one folder.
#pragma once
#include <sio/server.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <filesystem>

namespace chat {

/// Accepts on `acceptor` until it is closed; serves GET/HEAD for the files directly in `root`
/// ("/" is index.html) and hands everything under io's path to sio. `io` must outlive the connections.
void serve_site(boost::asio::ip::tcp::acceptor& acceptor, sio::server& io, std::filesystem::path root);

} // namespace chat
