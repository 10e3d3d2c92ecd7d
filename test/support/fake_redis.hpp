// A scripted stand-in for Redis on a loopback port (port 0): it accepts connections, parses the RESP
// commands a client sends (arrays of bulk strings) and answers each one as the test's handler says —
// with any bytes, with nothing at all, or by closing the connection. It can also close every connection
// as soon as it is accepted, or accept and never read (a stopped Redis: the client's writes pile up in
// the kernel buffers, then in the client). It runs on a thread of its own; every query is thread-safe.
//
//     sio_test::fake_redis redis([](const auto& cmd) { return sio_test::fake_redis::silence(); });
//     ... redis.port() ...
//     BOOST_TEST(redis.wait_commands("PUBSUB", 1));
//     BOOST_TEST(redis.count("PUBSUB") == 1u);
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sio_test {

class fake_redis {
    using tcp = boost::asio::ip::tcp;

public:
    using clock_type = std::chrono::steady_clock;
    using command = std::vector<std::string>;

    /// What the server does with one command.
    struct action {
        std::string bytes;  ///< written back (nothing when empty)
        bool close = false; ///< then closes the connection
    };
    static action silence() { return {}; }
    static action answer(std::string bytes) { return {std::move(bytes), false}; }
    static action hang_up() { return {{}, true}; }

    using handler = std::function<action(const command&)>;

    enum class mode {
        serve,         ///< reads commands and runs the handler on each
        close_at_once, ///< closes every connection right after accepting it
        never_read,    ///< accepts and keeps the connection, never reading from it
    };

    explicit fake_redis(handler h, mode m = mode::serve)
        : state_(std::make_shared<shared>(std::move(h), m)),
          acceptor_(std::make_shared<tcp::acceptor>(
              ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0))) {
        boost::asio::co_spawn(ioc_, serve(acceptor_, state_), boost::asio::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }
    /// Answers nothing, ever (a Redis that accepts and stays silent).
    fake_redis() : fake_redis([](const command&) { return silence(); }) {}
    explicit fake_redis(mode m) : fake_redis([](const command&) { return silence(); }, m) {}
    ~fake_redis() {
        ioc_.stop();
        thread_.join();
    }
    fake_redis(const fake_redis&) = delete;
    fake_redis& operator=(const fake_redis&) = delete;

    std::uint16_t port() const { return acceptor_->local_endpoint().port(); }

    /// Connections accepted so far.
    int accepted() const {
        std::lock_guard lock(state_->mutex);
        return static_cast<int>(state_->accept_times.size());
    }
    /// When each connection was accepted (in order).
    std::vector<clock_type::time_point> accept_times() const {
        std::lock_guard lock(state_->mutex);
        return state_->accept_times;
    }
    /// Waits (at most `within`) until `n` connections were accepted.
    bool wait_accepted(int n, std::chrono::milliseconds within = std::chrono::seconds(10)) const {
        std::unique_lock lock(state_->mutex);
        return state_->cv.wait_for(lock, within,
                                   [&] { return static_cast<int>(state_->accept_times.size()) >= n; });
    }
    /// Every command received so far, in order of arrival.
    std::vector<command> commands() const {
        std::lock_guard lock(state_->mutex);
        return state_->commands;
    }
    /// The number of commands received whose verb is `verb` (case-insensitive).
    std::size_t count(std::string_view verb) const {
        std::lock_guard lock(state_->mutex);
        return state_->count(verb);
    }
    /// Waits (at most `within`) until `n` commands `verb` arrived.
    bool wait_commands(std::string_view verb, std::size_t n,
                       std::chrono::milliseconds within = std::chrono::seconds(10)) const {
        std::unique_lock lock(state_->mutex);
        return state_->cv.wait_for(lock, within, [&] { return state_->count(verb) >= n; });
    }
    /// Connections that the client closed, as seen by the server (end of stream or error).
    int closed_by_peer() const {
        std::lock_guard lock(state_->mutex);
        return state_->peer_closed;
    }
    bool wait_closed_by_peer(int n, std::chrono::milliseconds within = std::chrono::seconds(10)) const {
        std::unique_lock lock(state_->mutex);
        return state_->cv.wait_for(lock, within, [&] { return state_->peer_closed >= n; });
    }

    /// The RESP bytes of an array of `n` integers `:1` (a reply of many tiny elements).
    static std::string integer_array(std::size_t n) {
        std::string out = "*" + std::to_string(n) + "\r\n";
        out.reserve(out.size() + 4 * n);
        for (std::size_t i = 0; i < n; ++i)
            out += ":1\r\n";
        return out;
    }

private:
    struct shared {
        shared(handler h, mode m) : on_command(std::move(h)), how(m) {}
        const handler on_command;
        const mode how;
        mutable std::mutex mutex;
        mutable std::condition_variable cv;
        std::vector<clock_type::time_point> accept_times;
        std::vector<command> commands;
        int peer_closed = 0;

        /// Under `mutex`.
        std::size_t count(std::string_view verb) const {
            return static_cast<std::size_t>(
                std::count_if(commands.begin(), commands.end(), [&](const command& c) {
                    return !c.empty() && c[0].size() == verb.size() &&
                           std::equal(verb.begin(), verb.end(), c[0].begin(), [](char a, char b) {
                               return std::tolower(static_cast<unsigned char>(a)) ==
                                      std::tolower(static_cast<unsigned char>(b));
                           });
                }));
        }
    };

    /// One command from the front of `buf` (RESP array of bulk strings), erased from it; nullopt when
    /// incomplete. Anything else is taken as an inline command (words up to CRLF).
    static std::optional<command> parse(std::string& buf) {
        std::size_t pos = 0;
        auto line = [&]() -> std::optional<std::string_view> {
            const auto end = buf.find("\r\n", pos);
            if (end == std::string::npos)
                return std::nullopt;
            std::string_view l(buf.data() + pos, end - pos);
            pos = end + 2;
            return l;
        };
        auto number = [](std::string_view s) {
            long long v = -1;
            std::from_chars(s.data(), s.data() + s.size(), v);
            return v;
        };
        if (buf.empty())
            return std::nullopt;
        command out;
        if (buf[0] != '*') {
            auto l = line();
            if (!l)
                return std::nullopt;
            std::string_view rest = *l;
            while (!rest.empty()) {
                const auto sp = rest.find(' ');
                if (sp != 0)
                    out.emplace_back(rest.substr(0, sp));
                rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
            }
            buf.erase(0, pos);
            return out;
        }
        auto header = line();
        if (!header)
            return std::nullopt;
        const long long n = number(header->substr(1));
        for (long long i = 0; i < n; ++i) {
            auto len_line = line();
            if (!len_line)
                return std::nullopt;
            const long long len = number(len_line->substr(1));
            if (len < 0 || buf.size() < pos + static_cast<std::size_t>(len) + 2)
                return std::nullopt;
            out.emplace_back(buf.data() + pos, static_cast<std::size_t>(len));
            pos += static_cast<std::size_t>(len) + 2;
        }
        buf.erase(0, pos);
        return out;
    }

    static boost::asio::awaitable<void> session(tcp::socket socket, std::shared_ptr<shared> st) {
        namespace net = boost::asio;
        if (st->how == mode::close_at_once) {
            boost::system::error_code ignored;
            socket.close(ignored);
            co_return;
        }
        if (st->how == mode::never_read) {
            // Waits for nothing that ever comes: the socket stays open, its receive buffer fills up.
            net::steady_timer forever(socket.get_executor(), clock_type::time_point::max());
            co_await forever.async_wait(net::as_tuple(net::use_awaitable));
            co_return;
        }
        std::string buf;
        std::vector<char> chunk(64 * 1024);
        for (;;) {
            auto [ec, n] =
                co_await socket.async_read_some(net::buffer(chunk), net::as_tuple(net::use_awaitable));
            if (ec) {
                std::lock_guard lock(st->mutex);
                ++st->peer_closed;
                st->cv.notify_all();
                co_return;
            }
            buf.append(chunk.data(), n);
            while (auto cmd = parse(buf)) {
                {
                    std::lock_guard lock(st->mutex);
                    st->commands.push_back(*cmd);
                    st->cv.notify_all();
                }
                const action a = st->on_command(*cmd);
                if (!a.bytes.empty()) {
                    auto [wec, written] = co_await net::async_write(socket, net::buffer(a.bytes),
                                                                    net::as_tuple(net::use_awaitable));
                    if (wec)
                        co_return;
                }
                if (a.close) {
                    boost::system::error_code ignored;
                    socket.close(ignored);
                    co_return;
                }
            }
        }
    }

    static boost::asio::awaitable<void> serve(std::shared_ptr<tcp::acceptor> acceptor,
                                              std::shared_ptr<shared> st) {
        namespace net = boost::asio;
        for (;;) {
            auto [ec, socket] = co_await acceptor->async_accept(net::as_tuple(net::use_awaitable));
            if (ec)
                co_return;
            {
                std::lock_guard lock(st->mutex);
                st->accept_times.push_back(clock_type::now());
                st->cv.notify_all();
            }
            net::co_spawn(acceptor->get_executor(), session(std::move(socket), st), net::detached);
        }
    }

    boost::asio::io_context ioc_;
    std::shared_ptr<shared> state_;
    std::shared_ptr<tcp::acceptor> acceptor_;
    std::thread thread_;
};

} // namespace sio_test
