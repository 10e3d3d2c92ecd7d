// The load generator's run loop, whatever the transport: the run's shared state, the client (its pending
// ack, its echo), the handling of every Socket.IO packet a client receives, connecting N clients with 64
// handshakes in flight, and waiting until the server is quiet. The transports (ws_client.hpp, polling.hpp)
// only move text packets; the scenarios (scenarios.hpp) drive this loop.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "report.hpp"

namespace loadgen {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using net::awaitable;
using net::use_awaitable;
constexpr auto tuple_awaitable = net::as_tuple(use_awaitable);

/// How the clients of a run reach the server: WebSocket only, or HTTP long-polling only (never upgraded).
enum class transport { websocket, polling };

struct client;

struct run_state {
    net::io_context& ioc;
    tcp::endpoint endpoint;
    std::string host; // the Host header
    transport via = transport::websocket;
    std::string failure;
    bool stopping = false;
    net::steady_timer wake_timer;

    // Broadcast rounds.
    std::string expected_msg; // 42["msg",<payload>]
    bool offsets = false;     // `--offsets 1`: each msg ends with a decimal string offset (recovery on)
    std::uint64_t remaining = 0;
    bool trigger_acked = true;
    clock_type::time_point trigger_sent{};
    clock_type::time_point first_delivery{};
    clock_type::time_point last_delivery{}; // the round's last one (remaining reached 0)
    bool first_seen = true;

    // Echo.
    clock_type::time_point deadline{};
    std::uint64_t max_ops = 0;
    std::uint64_t ops = 0;
    std::size_t echo_active = 0;
    std::vector<std::uint32_t> latencies_us;

    // Joins.
    std::size_t joins_pending = 0;

    // The clients live as long as the io_context runs (their handlers refer to them).
    std::vector<std::unique_ptr<client>> clients;
    std::size_t connect_next = 0;
    std::size_t connect_done = 0;
    net::steady_timer* watchdog = nullptr;

    explicit run_state(net::io_context& c) : ioc(c), wake_timer(c) {}

    void wake() { wake_timer.cancel(); }
    /// Records the run's first failure (none once stopping) and wakes the scenario.
    void fail(std::string why) {
        if (failure.empty() && !stopping)
            failure = std::move(why);
        wake();
    }
    /// Suspends until wake() (or a failure, then throws it); the caller re-checks its condition.
    awaitable<void> wait();
    awaitable<void> sleep(std::chrono::milliseconds d);
};

enum class pending_ack { none, echo, join, trigger };

/// One Socket.IO client on namespace "/", of either transport. At most one ack is pending at a time.
struct client {
    run_state* st;
    bool member = true; // receives broadcasts
    pending_ack pending = pending_ack::none;
    std::uint64_t next_id = 0;
    std::string echo_tail; // the expected ack after "43<id>"
    std::string echo_payload;
    clock_type::time_point sent_at{};

    explicit client(run_state& s) : st(&s) {}
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    virtual ~client() = default;

    /// Queues an Engine.IO message in the JSON parser's text form (`42[...]`, `3`); sent in order.
    virtual void send(std::string m) = 0;
    /// Connects to st->endpoint: Engine.IO open, Socket.IO CONNECT to "/" and its answer.
    virtual awaitable<void> handshake() = 0;
    /// After the handshake: reads until the connection ends, handing every packet to on_message.
    virtual void start_reading() = 0;
    virtual void close() = 0;
};

/// A new client of the run's transport (not connected).
std::unique_ptr<client> make_client(run_state& st);

/// One Engine.IO message received by `c`, in text form: ping, a broadcast delivery or an ack.
void on_message(client& c, std::string_view m);

/// Sends the next `echo(payload, id)` with an ack.
void send_echo(client& c);

/// Connects st.clients[connect_next..] one after another; each starts reading once connected.
awaitable<void> connect_worker(run_state& st);

/// Adds `n` clients and connects them (64 handshakes in flight).
awaitable<void> connect_all(run_state& st, std::size_t n);

/// Every client in the room sends `join(room)` and the acks are awaited.
awaitable<void> join_all(run_state& st, const std::string& room);

/// Waits until the server's CPU time stops moving (at most `limit`): the previous step's work is over.
awaitable<proc_sample> quiet(run_state& st, int pid,
                             std::chrono::milliseconds limit = std::chrono::milliseconds(3000));

/// A JSON string of `bytes` letters.
std::string make_payload(long bytes);

/// Stops the run: closes every client, cancels the watchdog.
void close_all(run_state& st);

} // namespace loadgen
