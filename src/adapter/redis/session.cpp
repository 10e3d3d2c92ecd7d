// One TCP connection to Redis: connect (with a deadline), AUTH and SELECT, read replies, write the
// queued commands in gathered batches. Commands are formatted with hiredis (redisFormatCommandArgv).
#include "session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <exception>

#include <hiredis/hiredis.h>

namespace sio::redis_detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;

/// The RESP form of a command; empty when `args` is empty (or hiredis failed).
std::string format_command(const std::vector<std::string>& args) {
    if (args.empty())
        return {};
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    char* out = nullptr;
    const int n = redisFormatCommandArgv(&out, static_cast<int>(argv.size()), argv.data(), lengths.data());
    if (n < 0 || out == nullptr)
        return {};
    std::string s(out, static_cast<std::size_t>(n));
    redisFreeCommand(out);
    return s;
}

/// The next whole reply: one already parsed, or read until there is one (the handshake, then `read_loop`).
net::awaitable<std::pair<std::error_code, reply>> read_one_reply(std::shared_ptr<session> s) {
    std::pair<std::error_code, reply> out;
    for (;;) {
        std::error_code perr;
        if (s->parser.next(out.second, perr))
            co_return out;
        if (perr) {
            out.first = perr;
            co_return out;
        }
        auto [ec, n] =
            co_await s->socket.async_read_some(net::buffer(s->rbuf), net::as_tuple(net::use_awaitable));
        if (s->stopped) {
            out.first = s->error;
            co_return out;
        }
        if (ec) {
            out.first = ec;
            co_return out;
        }
        if (auto ferr = s->parser.feed(s->rbuf.data(), n)) {
            out.first = ferr;
            co_return out;
        }
    }
}

namespace {

/// The commands sent right after connecting, and the error each one's error reply stands for.
struct handshake_plan {
    std::string bytes;
    std::vector<errc> on_error;
};

handshake_plan make_handshake(const endpoint& ep, bool select_db) {
    handshake_plan plan;
    if (!ep.password.empty()) {
        std::vector<std::string> auth;
        auth.emplace_back("AUTH");
        if (!ep.username.empty())
            auth.push_back(ep.username);
        auth.push_back(ep.password);
        plan.bytes += format_command(auth);
        plan.on_error.push_back(errc::auth_failed);
    }
    if (select_db && ep.db != 0) {
        std::vector<std::string> select;
        select.emplace_back("SELECT");
        select.push_back(std::to_string(ep.db));
        plan.bytes += format_command(select);
        plan.on_error.push_back(errc::select_failed);
    }
    return plan;
}

/// The connect timer's handler: stops a session still connecting when the time is up.
struct connect_timeout_handler {
    std::weak_ptr<session> weak;
    void operator()(boost::system::error_code ec) const {
        if (ec)
            return;
        if (auto s = weak.lock())
            s->stop(std::make_error_code(std::errc::timed_out));
    }
};

/// co_spawn completion: an exception escaping a session coroutine (allocation failure) ends the session.
struct stop_on_exception {
    std::shared_ptr<session> s;
    void operator()(std::exception_ptr e) const {
        if (e)
            s->stop(std::make_error_code(std::errc::not_enough_memory));
    }
};

net::awaitable<std::error_code> connect_socket(std::shared_ptr<session> s, endpoint ep) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(ep.host, ec);
    if (!ec) {
        auto [cec] = co_await s->socket.async_connect(tcp::endpoint(address, ep.port),
                                                      net::as_tuple(net::use_awaitable));
        ec = cec;
    } else {
        auto [rec, results] = co_await s->resolver.async_resolve(ep.host, std::to_string(ep.port),
                                                                 net::as_tuple(net::use_awaitable));
        if (s->stopped)
            co_return s->error;
        if (rec)
            co_return rec;
        auto [cec, where] =
            co_await net::async_connect(s->socket, results, net::as_tuple(net::use_awaitable));
        ec = cec;
    }
    if (s->stopped)
        co_return s->error;
    if (ec)
        co_return ec;
    boost::system::error_code ignored;
    s->socket.set_option(tcp::no_delay(true), ignored);
    s->socket.set_option(net::socket_base::keep_alive(true), ignored);
    co_return std::error_code{};
}

/// AUTH and SELECT, pipelined; the first error reply decides.
net::awaitable<std::error_code> handshake(std::shared_ptr<session> s, endpoint ep, bool select_db) {
    const handshake_plan plan = make_handshake(ep, select_db);
    if (plan.on_error.empty())
        co_return std::error_code{};
    auto [wec, written] =
        co_await net::async_write(s->socket, net::buffer(plan.bytes), net::as_tuple(net::use_awaitable));
    if (s->stopped)
        co_return s->error;
    if (wec)
        co_return wec;
    std::error_code refused;
    for (const errc e : plan.on_error) {
        auto [ec, r] = co_await read_one_reply(s);
        if (ec)
            co_return ec;
        if (r.type == reply::kind::error && !refused)
            refused = e;
    }
    s->answered = !refused;
    co_return refused;
}

/// Gives the bytes of the batch being written back to the queue budget, however the write ends.
struct batch_release {
    batch_release(session& owner, std::size_t n) : s(owner), bytes(n) {}
    session& s;
    std::size_t bytes = 0;
    ~batch_release() { s.release(bytes); }
    batch_release(const batch_release&) = delete;
    batch_release& operator=(const batch_release&) = delete;
};

/// Writes the session's queue, batch after batch, one gathered write each. An error stops the session.
net::awaitable<void> write_loop(std::shared_ptr<session> s) {
    std::vector<std::string> batch;
    std::vector<net::const_buffer> buffers;
    while (!s->stopped && !s->outq.empty()) {
        batch.clear();
        batch.swap(s->outq);
        batch_release written{*s, std::exchange(s->outq_bytes, 0)};
        buffers.clear();
        buffers.reserve(batch.size());
        for (const auto& b : batch)
            buffers.push_back(net::buffer(b));
        auto [ec, n] = co_await net::async_write(s->socket, buffers, net::as_tuple(net::use_awaitable));
        if (ec) {
            s->stop(ec);
            break;
        }
    }
    s->writing = false;
}

} // namespace

/// Connects and authenticates within `connect_timeout`.
net::awaitable<std::error_code> open_session(std::shared_ptr<session> s, endpoint ep, bool select_db) {
    if (s->stopped)
        co_return s->error;
    if (ep.connect_timeout.count() > 0) {
        s->timer.expires_after(ep.connect_timeout);
        s->timer.async_wait(connect_timeout_handler{s});
    }
    std::error_code ec = co_await connect_socket(s, ep);
    if (!ec)
        ec = co_await handshake(s, ep, select_db);
    s->timer.cancel();
    if (s->stopped)
        co_return s->error;
    co_return ec;
}

void start_writer(const strand_type& strand, const std::shared_ptr<session>& s) {
    if (s->writing || s->stopped || s->outq.empty())
        return;
    s->writing = true;
    net::co_spawn(strand, write_loop(s), stop_on_exception{s});
}

} // namespace sio::redis_detail
