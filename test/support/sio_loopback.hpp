// Loopback test support for the Socket.IO layer: a `sio::server` on its own io_context in background
// threads, a raw WebSocket Socket.IO client driven by the test thread, and a recorder of what the server's
// handlers saw. Every client operation has a deadline; no sleep is used as synchronisation. The client's and
// the server's bodies are compiled once, in sio_loopback.cpp (the sio_test_support library).
#pragma once

#include <sio/sio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loopback_client.hpp"

namespace sio_test {

// --- server-side observations ----------------------------------------------------------------------

/// What the server's handlers saw, in order, plus the sockets they were given (by socket id).
class recorder {
public:
    void add(std::string event) {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
        cv_.notify_all();
    }
    /// Waits until `event` was recorded `n` times.
    bool wait(std::string_view event, std::size_t n = 1, duration limit = io_limit) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [&] { return count_locked(event) >= n; });
    }
    std::size_t count(std::string_view event) const {
        std::lock_guard lock(mutex_);
        return count_locked(event);
    }
    std::vector<std::string> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    /// The recorded events that start with `prefix`, in order.
    std::vector<std::string> starting_with(std::string_view prefix) const {
        std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        for (const auto& e : events_)
            if (e.starts_with(prefix))
                out.push_back(e);
        return out;
    }

    void keep(const sio::socket& s) {
        std::lock_guard lock(mutex_);
        sockets_[s.id()] = s;
        cv_.notify_all();
    }
    /// The socket with id `id`, once a connection handler kept it.
    sio::socket find_socket(const std::string& id, duration limit = io_limit) {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, limit, [&] { return sockets_.count(id) > 0; }))
            throw std::runtime_error("no socket " + id);
        return sockets_.at(id);
    }

private:
    std::size_t count_locked(std::string_view event) const {
        return static_cast<std::size_t>(std::count(events_.begin(), events_.end(), event));
    }
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::string> events_;
    std::map<std::string, sio::socket> sockets_;
};

// --- the client ------------------------------------------------------------------------------------

constexpr std::string_view sio_target = "/socket.io/?EIO=4&transport=websocket";

/// One Engine.IO message received by the client.
struct message {
    bool binary = false;
    std::string data; ///< text: the whole Engine.IO packet (`42[...]`); binary: the bytes
};

/// A Socket.IO client over a raw WebSocket: sends and reads Engine.IO text packets (`40`, `42[...]`) and
/// binary frames, answers the server's pings, and reports the end of the connection.
class sio_client {
public:
    sio_client(net::io_context& ioc, std::uint16_t port, std::string query = {},
               std::vector<std::pair<std::string, std::string>> headers = {});

    const std::string& eio_sid() const noexcept { return eio_sid_; }
    /// Whether to answer the server's pings (`2` → `3`); on by default.
    void answer_pings(bool on) noexcept { answer_pings_ = on; }

    /// Sends an Engine.IO text packet, e.g. `42["event",1]`.
    void send(std::string_view packet) { ws_.send_text(packet); }
    /// Sends several Engine.IO text packets in one write (the server reads them together).
    void send_together(std::initializer_list<std::string_view> packets);
    /// Sends a binary frame (an attachment).
    void send_binary(std::string_view bytes) { ws_.send_frame(op_binary, bytes); }
    /// Starts the WebSocket closing handshake.
    void send_close();
    /// Ends the TCP connection without a closing handshake.
    void close() { ws_.close(); }

    /// The next Engine.IO message (pings answered, and skipped unless `return_pings`); nullopt once the
    /// server ended the connection. Throws when nothing arrives within `limit`.
    std::optional<message> next(duration limit = io_limit, bool return_pings = false);

    /// The next message, which must be text.
    std::string read(duration limit = io_limit);
    /// The next message, which must be binary.
    std::string read_binary(duration limit = io_limit);

    /// Joins namespace `nsp` (with an optional auth payload); returns the socket id. Throws when refused.
    std::string connect(std::string_view nsp = "/", std::string_view auth = {});

    /// True when the server ends the connection within `limit` (whatever it sends meanwhile is skipped).
    bool closed(duration limit = io_limit);

private:
    test_client ws_;
    std::string eio_sid_;
    bool answer_pings_ = true;
    bool close_sent_ = false;
};

// --- the server under test -------------------------------------------------------------------------

/// A `sio::server` on its own io_context. Configure `io()`, then `start()`.
class sio_server {
public:
    explicit sio_server(sio::server_options options = {});
    ~sio_server() { stop(); }
    sio_server(const sio_server&) = delete;
    sio_server& operator=(const sio_server&) = delete;

    sio::server& io() { return *io_; }
    recorder& log() { return log_; }

    /// Listens on a free loopback port and runs the io_context on `threads` threads.
    void start(unsigned threads = 1);
    std::uint16_t port() const { return port_; }

    /// A client driven by the test thread.
    sio_client client(std::string query = {}, std::vector<std::pair<std::string, std::string>> headers = {});

    /// Runs `op` on the server's io_context; the future holds its result.
    template <class T>
    std::future<T> spawn(net::awaitable<T> op) {
        auto promise = std::make_shared<std::promise<T>>();
        auto future = promise->get_future();
        net::co_spawn(sioc_, std::move(op), [promise](std::exception_ptr ex, T value) {
            if (ex)
                promise->set_exception(ex);
            else
                promise->set_value(std::move(value));
        });
        return future;
    }

    /// Stops the io_context at once, as a killed process stops: nothing more runs on it (no close, no
    /// disconnect handler, no timer, no Redis command). Its objects stay until `stop()` destroys them
    /// without running the loop again.
    void crash();

    /// Closes the server, lets the pending closes run (the loop runs out of work once every connection is
    /// gone), then stops. Idempotent.
    void stop();

private:
    net::io_context sioc_;
    recorder log_;
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::unique_ptr<sio::server> io_;
    std::vector<std::thread> threads_;
    std::uint16_t port_ = 0;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::size_t finished_ = 0;
    net::io_context client_ioc_;
};

template <class T>
T get(std::future<T>& f, duration limit = io_limit) {
    if (f.wait_for(limit) != std::future_status::ready)
        throw std::runtime_error("server operation did not complete in time");
    return f.get();
}

/// Records connections and disconnections of `nsp` and keeps its sockets.
void install(sio::namespace_ nsp, recorder& log);

std::vector<std::string> sorted(std::vector<std::string> v);

/// The ids of fetched sockets, sorted.
std::vector<std::string> ids(const sio::fetch_sockets_result& r);

} // namespace sio_test
