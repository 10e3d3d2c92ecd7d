// The load generator's HTTP long-polling clients (polling-only, never upgraded): the scenarios poll-conn,
// poll-echo and poll-bcast of sio_loadgen (bench/loadgen/main.cpp dispatches them here).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace loadgen {

/// What a polling scenario needs from the load generator.
struct polling_env {
    boost::asio::io_context& ioc;
    boost::asio::ip::tcp::endpoint endpoint;
    std::string host; // the Host header
    /// An option's value: name (without "--"), default, lowest, highest; throws when out of range.
    std::function<long(const std::string&, long, long, long)> num;
    /// The server's CPU time (utime + stime, seconds) and VmRSS (bytes) now.
    std::function<void(double& cpu_s, double& rss_bytes)> sample;
};

/// True for "poll-conn", "poll-echo" and "poll-bcast".
bool is_polling_scenario(std::string_view scenario);

/// Runs one polling scenario on the environment's io_context (single thread). Returns the result's JSON
/// fields (`,"key":value...`); throws with a message on any failure (a wrong or missing ack or delivery, an
/// HTTP error, a lost connection). The clients' state is left allocated: detached reads may refer to it
/// until the process exits.
boost::asio::awaitable<std::string> run_polling(std::string_view scenario, polling_env env);

} // namespace loadgen
