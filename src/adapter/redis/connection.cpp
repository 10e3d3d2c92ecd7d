// The Redis connections: our own I/O on Asio coroutines, hiredis for RESP only (its reader parses the
// replies, redisFormatCommandArgv formats the commands). See connection.hpp for the behaviour.
//
// Layout: a `session` is one TCP connection (socket, resolver, connect timer, RESP parser, outgoing
// queue). Its state is touched on the owning connection's strand only; every coroutine below is spawned
// on that strand. `session::stop` is the one way a session ends: it records why and closes the socket,
// which makes the session's reader return that error. The reader's owner then fails what was pending.
// Both connections build on `connection_core` (strand, endpoint, current session, state) and run each
// session with `run_session`, whose reader hands every reply to the owner's `take`.
#include "connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <new>
#include <set>

#include "../../log.hpp"
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

namespace sio::redis_detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using strand_type = net::strand<net::any_io_executor>;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t read_chunk = 16 * 1024;
/// Arrays nested deeper than this are refused (hiredis 0.14 itself stops at 7 levels below the root).
constexpr std::size_t max_nesting = 7;

class redis_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "sio.redis"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::closed:
            return "redis connection closed";
        case errc::not_connected:
            return "redis connection down";
        case errc::protocol_error:
            return "redis protocol error";
        case errc::reply_too_large:
            return "redis reply too large";
        case errc::auth_failed:
            return "redis AUTH refused";
        case errc::select_failed:
            return "redis SELECT refused";
        case errc::subscribe_failed:
            return "redis subscription refused";
        case errc::invalid_command:
            return "empty redis command";
        case errc::command_timeout:
            return "redis command timed out";
        case errc::queue_full:
            return "redis outgoing queue full";
        }
        return "unknown redis error";
    }
};

// --- commands --------------------------------------------------------------------------------------------

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

endpoint sanitize(endpoint ep) {
    if (ep.reconnect_min < std::chrono::milliseconds(1))
        ep.reconnect_min = std::chrono::milliseconds(1);
    if (ep.reconnect_max < ep.reconnect_min)
        ep.reconnect_max = ep.reconnect_min;
    if (ep.connect_timeout < std::chrono::milliseconds(0))
        ep.connect_timeout = std::chrono::milliseconds(0);
    if (ep.max_reply_bytes < 64)
        ep.max_reply_bytes = 64;
    if (ep.max_reply_elements < 16)
        ep.max_reply_elements = 16;
    if (ep.command_timeout < std::chrono::milliseconds(0))
        ep.command_timeout = std::chrono::milliseconds(0);
    return ep;
}

std::chrono::milliseconds next_delay(std::chrono::milliseconds delay, const endpoint& ep) {
    return std::min(delay * 2, ep.reconnect_max);
}

// --- replies ---------------------------------------------------------------------------------------------

/// Follows the RESP structure of the bytes received, before hiredis sees them, to enforce the limits
/// hiredis 0.14 does not have: the size of one reply (its `maxbuf` only says when to give an idle buffer
/// back), the length a bulk string or an array declares (refused before any of it arrives, so a hostile
/// `*2000000000` allocates nothing), the elements the arrays of one reply declare in all (each becomes
/// a `reply` as soon as its array is declared: 72 bytes for as little as 3 on the wire), and the nesting
/// depth. It accepts a subset of what hiredis accepts (every line must end with CRLF), so both always
/// agree on where a reply ends.
class resp_guard {
public:
    resp_guard(std::size_t max_bytes, std::size_t max_elements)
        : max_(max_bytes), max_elements_(max_elements) {}

    std::error_code check(const char* p, std::size_t n) {
        std::size_t i = 0;
        while (i < n) {
            switch (state_) {
            case state::type:
                type_ = p[i];
                ++i;
                if (++bytes_ > max_)
                    return errc::reply_too_large;
                if (type_ != '+' && type_ != '-' && type_ != ':' && type_ != '$' && type_ != '*')
                    return errc::protocol_error;
                number_.clear();
                state_ = state::line;
                break;
            case state::line: {
                const void* found = std::memchr(p + i, '\n', n - i);
                const auto* nl = static_cast<const char*>(found);
                const std::size_t take = nl ? static_cast<std::size_t>(nl - (p + i)) + 1 : n - i;
                const bool cr_before = nl ? (nl > p + i ? nl[-1] == '\r' : last_cr_) : false;
                if (type_ == '$' || type_ == '*') {
                    if (number_.size() + take > 24)
                        return errc::protocol_error;
                    number_.append(p + i, take);
                }
                last_cr_ = p[i + take - 1] == '\r';
                i += take;
                bytes_ += take;
                if (bytes_ > max_)
                    return errc::reply_too_large;
                if (!nl)
                    break;
                if (!cr_before)
                    return errc::protocol_error;
                if (auto ec = end_of_line())
                    return ec;
                break;
            }
            case state::bulk: {
                const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(bulk_left_, n - i));
                i += take;
                bytes_ += take;
                bulk_left_ -= take;
                if (bytes_ > max_)
                    return errc::reply_too_large;
                if (bulk_left_ == 0)
                    item_done();
                break;
            }
            }
        }
        return {};
    }

private:
    enum class state { type, line, bulk };

    std::error_code end_of_line() {
        if (type_ != '$' && type_ != '*') {
            item_done();
            return {};
        }
        // number_ is "<digits>\r\n"
        std::int64_t v = 0;
        const char* first = number_.data();
        const char* last = number_.data() + number_.size() - 2;
        const auto [ptr, ec] = std::from_chars(first, last, v);
        if (ec != std::errc{} || ptr != last || first == last)
            return errc::protocol_error;
        if (v < -1)
            return errc::protocol_error;
        if (type_ == '$') {
            if (v == -1) {
                item_done();
                return {};
            }
            if (static_cast<std::uint64_t>(v) + 2 > max_ - bytes_)
                return errc::reply_too_large;
            bulk_left_ = static_cast<std::uint64_t>(v) + 2;
            state_ = state::bulk;
            return {};
        }
        if (v <= 0) {
            item_done();
            return {};
        }
        if (stack_.size() >= max_nesting)
            return errc::protocol_error;
        // Every element takes 3 bytes at least ("+\r\n").
        if (static_cast<std::uint64_t>(v) > (max_ - bytes_) / 3)
            return errc::reply_too_large;
        if (static_cast<std::uint64_t>(v) > max_elements_ - elements_)
            return errc::reply_too_large;
        // The elements are allocated when their array is declared: what they cost must stay a small
        // multiple of what the reply has sent so far (plus a fixed allowance), so a reply of tiny
        // elements cannot make memory grow far beyond its own size.
        const std::uint64_t cost = static_cast<std::uint64_t>(v) * element_cost;
        if (charged_ + cost > element_allowance + element_ratio * bytes_)
            return errc::reply_too_large;
        charged_ += cost;
        elements_ += static_cast<std::size_t>(v);
        stack_.push_back(v);
        state_ = state::type;
        return {};
    }

    void item_done() {
        state_ = state::type;
        while (!stack_.empty()) {
            if (--stack_.back() > 0)
                return;
            stack_.pop_back();
        }
        bytes_ = 0; // a whole reply ended
        elements_ = 0;
        charged_ = 0;
    }

public:
    /// What one element costs when its array is declared (a `reply`, with the slack of the allocator).
    static constexpr std::uint64_t element_cost = 80;
    /// The elements of one reply may cost this much, plus element_ratio times the reply's bytes so far.
    static constexpr std::uint64_t element_allowance = 1024 * 1024;
    static constexpr std::uint64_t element_ratio = 8;

private:
    const std::size_t max_;
    const std::size_t max_elements_;
    state state_ = state::type;
    char type_ = 0;
    bool last_cr_ = false;
    std::string number_;
    std::uint64_t bulk_left_ = 0;
    std::vector<std::int64_t> stack_; ///< elements still expected by each open array
    std::size_t bytes_ = 0;           ///< bytes of the reply being received
    std::size_t elements_ = 0;        ///< elements its arrays declared so far
    std::uint64_t charged_ = 0;       ///< what those elements cost (element_cost each)
};

// hiredis's reader builds our `reply` objects itself (its object functions): no tree of redisReply
// to convert and free afterwards. The root is allocated; every other element is constructed in place in
// its parent's `elements`, sized when the array is declared (the guard bounded the count), so the
// pointers hiredis keeps to open arrays stay valid. The reader frees only the root (`free_reply`).
// Nothing may throw through hiredis (C): allocation failures return null, which hiredis reports as
// REDIS_ERR_OOM.

/// Where the element of `task` goes: a new root, or its slot in the parent array.
reply* reply_slot(const redisReadTask* task) noexcept {
    if (task->parent == nullptr)
        return new (std::nothrow) reply;
    auto* parent = static_cast<reply*>(task->parent->obj);
    if (parent == nullptr || task->idx < 0 || static_cast<std::size_t>(task->idx) >= parent->elements.size())
        return nullptr;
    return &parent->elements[static_cast<std::size_t>(task->idx)];
}

/// Undoes `reply_slot` after a failure.
void reply_unslot(const redisReadTask* task, reply* r) noexcept {
    if (task->parent == nullptr)
        delete r;
}

void* create_string(const redisReadTask* task, char* str, size_t len) noexcept {
    reply* r = reply_slot(task);
    if (r == nullptr)
        return nullptr;
    try {
        r->str.assign(str, len);
    } catch (...) {
        reply_unslot(task, r);
        return nullptr;
    }
    r->type = task->type == REDIS_REPLY_STRING   ? reply::kind::string
              : task->type == REDIS_REPLY_STATUS ? reply::kind::status
                                                 : reply::kind::error;
    return r;
}

#if HIREDIS_MAJOR >= 1
void* create_array(const redisReadTask* task, size_t n) noexcept {
#else
void* create_array(const redisReadTask* task, int n) noexcept {
#endif
    reply* r = reply_slot(task);
    if (r == nullptr)
        return nullptr;
    r->type = reply::kind::array;
    try {
        r->elements.resize(static_cast<std::size_t>(n));
    } catch (...) {
        reply_unslot(task, r);
        return nullptr;
    }
    return r;
}

void* create_integer(const redisReadTask* task, long long v) noexcept {
    reply* r = reply_slot(task);
    if (r == nullptr)
        return nullptr;
    r->type = reply::kind::integer;
    r->integer = v;
    return r;
}

void* create_nil(const redisReadTask* task) noexcept {
    reply* r = reply_slot(task);
    if (r != nullptr)
        r->type = reply::kind::nil;
    return r;
}

#if HIREDIS_MAJOR >= 1
// RESP3 only (never sent to a RESP2 connection; the guard refuses these types anyway).
void* create_double(const redisReadTask* task, double, char*, size_t) noexcept {
    return create_nil(task);
}
void* create_bool(const redisReadTask* task, int) noexcept {
    return create_nil(task);
}
#endif

void free_reply(void* root) noexcept {
    delete static_cast<reply*>(root);
}

redisReplyObjectFunctions* reply_functions() {
    static redisReplyObjectFunctions fn = [] {
        redisReplyObjectFunctions f{};
        f.createString = create_string;
        f.createArray = create_array;
        f.createInteger = create_integer;
        f.createNil = create_nil;
#if HIREDIS_MAJOR >= 1
        f.createDouble = create_double;
        f.createBool = create_bool;
#endif
        f.freeObject = free_reply;
        return f;
    }();
    return &fn;
}

/// The guard, then hiredis's reader.
class resp_parser {
public:
    resp_parser(std::size_t max_bytes, std::size_t max_elements)
        : guard_(max_bytes, max_elements), reader_(redisReaderCreateWithFunctions(reply_functions())) {}
    ~resp_parser() {
        if (reader_)
            redisReaderFree(reader_);
    }
    resp_parser(const resp_parser&) = delete;
    resp_parser& operator=(const resp_parser&) = delete;

    std::error_code feed(const char* p, std::size_t n) {
        if (!reader_)
            return std::make_error_code(std::errc::not_enough_memory);
        if (auto ec = guard_.check(p, n))
            return ec;
        if (redisReaderFeed(reader_, p, n) != REDIS_OK)
            return errc::protocol_error;
        return {};
    }

    /// True with the next complete reply; false when more bytes are needed, or on an error (`ec` set).
    bool next(reply& out, std::error_code& ec) {
        if (!reader_)
            return false;
        void* obj = nullptr;
        if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
            if (reader_->err == REDIS_ERR_OOM)
                ec = std::make_error_code(std::errc::not_enough_memory);
            else
                ec = errc::protocol_error;
            return false;
        }
        if (obj == nullptr)
            return false;
        const std::unique_ptr<reply> root(static_cast<reply*>(obj));
        out = std::move(*root);
        return true;
    }

private:
    resp_guard guard_;
    redisReader* reader_;
};

// --- sessions --------------------------------------------------------------------------------------------

/// The bytes of commands issued and not yet written, counted across the sessions of a command
/// connection: reserved by the issuing thread, released on the strand once written or dropped.
using queue_budget = std::atomic<std::size_t>;

/// One TCP connection to Redis. Strand-only.
struct session {
    session(const strand_type& strand, const endpoint& ep, std::shared_ptr<queue_budget> budget = {})
        : socket(strand), resolver(strand), timer(strand), parser(ep.max_reply_bytes, ep.max_reply_elements),
          rbuf(read_chunk), queued(std::move(budget)) {}

    tcp::socket socket;
    tcp::resolver resolver;
    net::steady_timer timer; ///< connect timeout
    resp_parser parser;
    std::vector<char> rbuf;
    std::vector<std::string> outq; ///< formatted commands not written yet
    std::size_t outq_bytes = 0;    ///< their size
    /// The owner's count of queued bytes (null: not counted); `outq` and the batch being written are
    /// in it.
    const std::shared_ptr<queue_budget> queued;
    bool writing = false; ///< a writer coroutine is draining `outq`
    bool stopped = false;
    bool answered = false; ///< Redis answered: the handshake's replies, or a first reply
    std::error_code error; ///< why it stopped

    /// Queues a formatted command (already counted in `queued`); dropped when stopped.
    void push(std::string cmd) {
        if (stopped) {
            release(cmd.size());
            return;
        }
        outq_bytes += cmd.size();
        outq.push_back(std::move(cmd));
    }

    void release(std::size_t n) noexcept {
        if (queued && n != 0)
            queued->fetch_sub(n);
    }

    void stop(std::error_code ec) {
        if (stopped)
            return;
        stopped = true;
        error = ec ? ec : make_error_code(errc::not_connected);
        boost::system::error_code ignored;
        socket.close(ignored);
        resolver.cancel();
        timer.cancel();
        outq.clear();
        release(std::exchange(outq_bytes, 0));
    }
};

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

void start_writer(const strand_type& strand, const std::shared_ptr<session>& s) {
    if (s->writing || s->stopped || s->outq.empty())
        return;
    s->writing = true;
    net::co_spawn(strand, write_loop(s), stop_on_exception{s});
}

// --- connections -----------------------------------------------------------------------------------------

/// What both connections hold: the strand, the endpoint, the session of the moment and its state.
struct connection_core {
    enum class state { idle, connecting, up, down, closed };

    connection_core(net::any_io_executor ex, endpoint e, state initial)
        : strand(net::make_strand(ex)), ep(sanitize(std::move(e))), st(initial), delay(ep.reconnect_min) {}

    const strand_type strand;
    const endpoint ep;
    std::atomic<bool> closed{false};
    std::atomic<bool> up{false};

    // Strand-only.
    state st;
    std::shared_ptr<session> current;
    std::chrono::milliseconds delay; ///< the next back-off delay

    bool connected() const noexcept { return up && !closed; }

    /// `s` connected: true when it is still the session awaited (the connection is then up).
    /// The back-off delay is not reset here: a server that accepts connections and drops them at once
    /// would be dialled at the shortest delay for ever. The owner calls `established` once Redis proved
    /// it answers.
    bool mark_up(const std::shared_ptr<session>& s) {
        if (s != current || st != state::connecting || s->stopped)
            return false;
        st = state::up;
        up = true;
        return true;
    }

    /// Redis answered on the current session: the next failure waits reconnect_min again.
    void established() { delay = ep.reconnect_min; }

    /// Stops `s` (with `ec` unless it already stopped); true when it was the current session (now gone).
    bool drop(const std::shared_ptr<session>& s, std::error_code ec) {
        s->stop(ec);
        if (s != current)
            return false;
        current.reset();
        up = false;
        return true;
    }

    /// Closes for good; false when already closed.
    bool mark_closed() {
        if (st == state::closed)
            return false;
        st = state::closed;
        up = false;
        if (current)
            current->stop(errc::closed);
        return true;
    }
};

/// close() of both connections: the first call has the strand shut the connection down.
template <class Impl>
void close_connection(const std::shared_ptr<Impl>& impl) {
    if (impl->closed.exchange(true))
        return;
    net::dispatch(impl->strand, [self = impl] { self->shutdown(); });
}

/// The session's reader: hands each reply to `self->take` (an error from it ends the session) until the
/// session ends; returns why.
template <class Owner>
net::awaitable<std::error_code> read_loop(std::shared_ptr<Owner> self, std::shared_ptr<session> s) {
    for (;;) {
        auto [ec, r] = co_await read_one_reply(s);
        if (ec)
            co_return ec;
        s->answered = true;
        if (auto derr = self->take(std::move(r)))
            co_return derr;
        if (s->stopped)
            co_return s->error;
    }
}

/// One session from start to end: connects, tells `self->session_up`, reads, tells `self->session_ended`.
template <class Owner>
net::awaitable<void> run_session(std::shared_ptr<Owner> self, std::shared_ptr<session> s, bool select_db) {
    std::error_code ec = co_await open_session(s, self->ep, select_db);
    if (!ec && self->session_up(s))
        ec = co_await read_loop(self, s);
    self->session_ended(s, ec);
}

} // namespace

const std::error_category& redis_category() noexcept {
    static const redis_error_category category;
    return category;
}

// --- command connection ----------------------------------------------------------------------------------

struct command_connection::impl : connection_core, std::enable_shared_from_this<impl> {
    using reply_channel =
        net::experimental::concurrent_channel<void(boost::system::error_code, std::error_code, reply)>;

    impl(net::any_io_executor ex, endpoint e)
        : connection_core(std::move(ex), std::move(e), state::idle), watchdog(strand) {}

    /// While down: the end of the back-off delay (steady_clock ticks), for send(); 0 otherwise.
    std::atomic<clock_type::rep> down_until{0};
    /// The bytes of commands issued and not written yet (`max_queued_bytes`).
    const std::shared_ptr<queue_budget> queued = std::make_shared<queue_budget>(0);

    /// A command written or queued, waiting for its reply.
    struct waiting {
        std::shared_ptr<reply_channel> channel; ///< null: the reply is dropped
        clock_type::time_point deadline;        ///< issued + command_timeout
    };

    // Strand-only.
    std::deque<waiting> pending; ///< in command order
    clock_type::time_point retry_at{};
    net::steady_timer watchdog; ///< the deadline of the oldest pending command
    bool watching = false;      ///< a wait on `watchdog` is outstanding

    static void complete(const std::shared_ptr<reply_channel>& ch, std::error_code ec, reply r = {}) {
        if (ch)
            ch->try_send(boost::system::error_code{}, ec, std::move(r));
    }

    /// Takes `n` bytes from the queue budget; false when that would exceed `max_queued_bytes`. Any thread.
    bool reserve(std::size_t n) {
        if (ep.max_queued_bytes == 0) {
            queued->fetch_add(n);
            return true;
        }
        std::size_t cur = queued->load();
        do {
            if (n > ep.max_queued_bytes || cur > ep.max_queued_bytes - n)
                return false;
        } while (!queued->compare_exchange_weak(cur, cur + n));
        return true;
    }

    void fail_pending(std::error_code ec) {
        auto failed = std::move(pending);
        pending.clear();
        for (auto& w : failed)
            complete(w.channel, ec);
    }

    /// `cmd` is counted in `queued` already.
    void enqueue(std::string cmd, std::shared_ptr<reply_channel> ch) {
        switch (st) {
        case state::closed:
            queued->fetch_sub(cmd.size());
            complete(ch, errc::closed);
            return;
        case state::down:
            if (clock_type::now() < retry_at) {
                queued->fetch_sub(cmd.size());
                complete(ch, errc::not_connected);
                return;
            }
            start_session();
            break;
        case state::idle:
            start_session();
            break;
        case state::connecting:
        case state::up:
            break;
        }
        const auto deadline = clock_type::now() + ep.command_timeout;
        pending.push_back(waiting{std::move(ch), deadline});
        current->push(std::move(cmd));
        if (st == state::up)
            start_writer(strand, current);
        if (ep.command_timeout.count() > 0 && !watching)
            watch(deadline);
    }

    void watch(clock_type::time_point at) {
        watching = true;
        watchdog.expires_at(at);
        watchdog.async_wait(
            [self = shared_from_this()](boost::system::error_code ec) { self->watchdog_fired(ec); });
    }

    /// The oldest command's deadline may have passed: then the connection is recycled (its commands
    /// fail with `errc::command_timeout`); otherwise the watch goes on for the oldest one now.
    void watchdog_fired(boost::system::error_code ec) {
        watching = false;
        if (ec || st == state::closed || pending.empty())
            return;
        if (clock_type::now() < pending.front().deadline) {
            watch(pending.front().deadline);
            return;
        }
        if (auto s = current) { // a copy: session_ended resets `current`
            SIO_LOG(adapter, warning, "redis command not answered within ", ep.command_timeout,
                    ": closing the connection (", pending.size(), " commands pending)");
            session_ended(s, errc::command_timeout);
        }
    }

    void start_session() {
        st = state::connecting;
        down_until = 0;
        current = std::make_shared<session>(strand, ep, queued);
        net::co_spawn(strand, run_session(shared_from_this(), current, true),
                      session_done{shared_from_this(), current});
    }

    /// The session connected: commands queued meanwhile go out.
    bool session_up(const std::shared_ptr<session>& s) {
        if (!mark_up(s))
            return false;
        if (s->answered) // AUTH / SELECT accepted
            established();
        start_writer(strand, s);
        return true;
    }

    void session_ended(const std::shared_ptr<session>& s, std::error_code ec) {
        const bool was_up = up;
        if (!drop(s, ec))
            return;
        if (st == state::closed)
            return;
        if (was_up)
            SIO_LOG(adapter, warning, "redis connection lost: ", s->error);
        else
            SIO_LOG(adapter, debug, "redis connection failed: ", s->error, ", next attempt in ", delay);
        st = state::down;
        retry_at = clock_type::now() + delay;
        down_until = retry_at.time_since_epoch().count();
        delay = next_delay(delay, ep);
        fail_pending(s->error);
    }

    /// One reply from the session's reader: it belongs to the oldest pending command.
    std::error_code take(reply r) {
        if (pending.empty())
            return errc::protocol_error;
        established();
        auto ch = std::move(pending.front().channel);
        pending.pop_front();
        complete(ch, std::error_code{}, std::move(r));
        return {};
    }

    void shutdown() {
        if (!mark_closed())
            return;
        watchdog.cancel();
        fail_pending(errc::closed);
    }

    struct session_done {
        std::shared_ptr<impl> self;
        std::shared_ptr<session> s;
        void operator()(std::exception_ptr e) const {
            if (e)
                self->session_ended(s, std::make_error_code(std::errc::not_enough_memory));
        }
    };
};

command_connection::command_connection(net::any_io_executor ex, endpoint ep)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(ep))) {}

command_connection::~command_connection() {
    close();
}

net::awaitable<std::pair<std::error_code, reply>> command_connection::command(std::vector<std::string> args) {
    auto self = impl_;
    std::string cmd = format_command(args);
    if (cmd.empty())
        co_return std::make_pair(make_error_code(errc::invalid_command), reply{});
    if (self->closed)
        co_return std::make_pair(make_error_code(errc::closed), reply{});
    if (!self->reserve(cmd.size()))
        co_return std::make_pair(make_error_code(errc::queue_full), reply{});
    auto ch = std::make_shared<impl::reply_channel>(co_await net::this_coro::executor, 1);
    net::dispatch(self->strand, [self, ch, cmd = std::move(cmd)]() mutable {
        self->enqueue(std::move(cmd), std::move(ch));
    });
    auto [ec, result_ec, result] = co_await ch->async_receive(net::as_tuple(net::use_awaitable));
    if (ec)
        co_return std::make_pair(std::error_code(ec), reply{});
    co_return std::make_pair(result_ec, std::move(result));
}

std::error_code command_connection::send(std::vector<std::string> args) {
    auto self = impl_;
    if (self->closed)
        return errc::closed;
    const auto until = self->down_until.load();
    if (until != 0 && clock_type::now().time_since_epoch().count() < until)
        return errc::not_connected;
    std::string cmd = format_command(args);
    if (cmd.empty())
        return errc::invalid_command;
    if (!self->reserve(cmd.size()))
        return errc::queue_full;
    net::dispatch(self->strand,
                  [self, cmd = std::move(cmd)]() mutable { self->enqueue(std::move(cmd), nullptr); });
    return {};
}

bool command_connection::connected() const noexcept {
    return impl_->connected();
}

void command_connection::close() {
    close_connection(impl_);
}

// --- subscriber connection -------------------------------------------------------------------------------

struct subscriber_connection::impl : connection_core, std::enable_shared_from_this<impl> {
    using sync_channel =
        net::experimental::concurrent_channel<void(boost::system::error_code, std::error_code)>;

    /// A synced() call: resolves once `threshold` commands of the session completed.
    struct sync_waiter {
        std::uint64_t threshold = 0;
        std::shared_ptr<sync_channel> channel;
        std::error_code error; ///< a refused subscription it covers
    };
    enum class op { subscribe, psubscribe, unsubscribe, punsubscribe };
    /// A (P)(UN)SUBSCRIBE written: how many confirmations it still expects (one per argument).
    struct inflight_command {
        std::size_t remaining = 0;
        op what = op::subscribe;
        std::vector<std::string> names; ///< for (P)SUBSCRIBE: dropped from the set when refused
    };

    impl(net::any_io_executor ex, endpoint e, message_handler m, state_handler s)
        : connection_core(std::move(ex), std::move(e), state::connecting), on_message(std::move(m)),
          on_state(std::move(s)), backoff(strand) {}

    const message_handler on_message;
    const state_handler on_state;

    // Strand-only.
    net::steady_timer backoff;
    std::set<std::string> channels, patterns;
    std::deque<inflight_command> inflight; ///< commands of the current session awaiting confirmations
    std::uint64_t issued = 0, completed = 0;
    std::vector<sync_waiter> waiters;
    std::vector<std::shared_ptr<sync_channel>> early; ///< synced() while connecting
    std::uint64_t up_threshold = 0;                   ///< the re-subscriptions of the session
    bool reported_up = false;
    /// A refusal that arrived while no synced() call was waiting: the next synced() call reports it.
    bool unreported_refusal = false;

    static void complete(const std::shared_ptr<sync_channel>& ch, std::error_code ec) {
        ch->try_send(boost::system::error_code{}, ec);
    }

    void report(bool is_up) {
        if (!on_state || closed)
            return;
        try {
            on_state(is_up);
        } catch (...) {
        }
    }

    void start() { net::co_spawn(strand, run(shared_from_this()), run_done{shared_from_this()}); }

    void write_command(op what, std::vector<std::string> names) {
        static constexpr const char* verbs[] = {"SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE"};
        std::vector<std::string> args;
        args.reserve(names.size() + 1);
        args.emplace_back(verbs[static_cast<int>(what)]);
        args.insert(args.end(), names.begin(), names.end());
        std::string cmd = format_command(args);
        if (cmd.empty())
            return;
        current->push(std::move(cmd));
        const std::size_t count = names.size();
        if (what == op::unsubscribe || what == op::punsubscribe)
            names.clear();
        inflight.push_back(inflight_command{count, what, std::move(names)});
        ++issued;
        start_writer(strand, current);
    }

    /// subscribe() and friends: `change` on the strand.
    void post_change(op o, std::vector<std::string> names) {
        net::dispatch(strand, [self = shared_from_this(), o, n = std::move(names)]() mutable {
            self->change(o, std::move(n));
        });
    }

    void change(op o, std::vector<std::string> names) {
        if (st == state::closed || names.empty())
            return;
        const bool is_pattern = o == op::psubscribe || o == op::punsubscribe;
        auto& set = is_pattern ? patterns : channels;
        const bool adding = o == op::subscribe || o == op::psubscribe;
        for (const auto& n : names) {
            if (adding)
                set.insert(n);
            else
                set.erase(n);
        }
        if (st != state::up)
            return; // sent with the others after the next connection
        write_command(o, std::move(names));
    }

    void add_sync(std::shared_ptr<sync_channel> ch) {
        switch (st) {
        case state::closed:
            complete(ch, errc::closed);
            return;
        case state::down:
            complete(ch, errc::not_connected);
            return;
        case state::idle: // (never: a subscriber starts connecting)
        case state::connecting:
            early.push_back(std::move(ch));
            return;
        case state::up: {
            std::error_code refused;
            if (std::exchange(unreported_refusal, false))
                refused = errc::subscribe_failed;
            waiters.push_back(sync_waiter{issued, std::move(ch), refused});
            resolve();
            return;
        }
        }
    }

    /// Resolves the waiters whose commands all completed; reports the connection up once re-subscribed.
    void resolve() {
        std::erase_if(waiters, [this](const sync_waiter& w) {
            if (w.threshold > completed)
                return false;
            complete(w.channel, w.error);
            return true;
        });
        if (!reported_up && st == state::up && completed >= up_threshold) {
            reported_up = true;
            report(true);
        }
        // Established once re-subscribed, if Redis answered anything on this session (AUTH, the
        // confirmations): the back-off delay starts from reconnect_min again.
        if (reported_up && current && current->answered)
            established();
    }

    bool session_up(const std::shared_ptr<session>& s) {
        if (!mark_up(s))
            return false;
        issued = completed = 0;
        inflight.clear();
        if (!channels.empty())
            write_command(op::subscribe, std::vector<std::string>(channels.begin(), channels.end()));
        if (!patterns.empty())
            write_command(op::psubscribe, std::vector<std::string>(patterns.begin(), patterns.end()));
        up_threshold = issued;
        for (auto& ch : early)
            waiters.push_back(sync_waiter{issued, std::move(ch), {}});
        early.clear();
        resolve();
        return true;
    }

    /// Resolves every pending synced() call with `why`.
    void fail_waiters(std::error_code why) {
        auto failed = std::move(waiters);
        waiters.clear();
        auto failed_early = std::move(early);
        early.clear();
        for (auto& w : failed)
            complete(w.channel, why);
        for (auto& ch : failed_early)
            complete(ch, why);
    }

    void session_ended(const std::shared_ptr<session>& s, std::error_code ec) {
        if (!drop(s, ec))
            return;
        inflight.clear();
        fail_waiters(st == state::closed ? make_error_code(errc::closed) : s->error);
        if (st == state::closed)
            return;
        st = state::down;
        if (reported_up)
            SIO_LOG(adapter, warning, "redis subscriber connection lost: ", s->error);
        if (reported_up) {
            reported_up = false;
            report(false);
        }
    }

    /// A confirmation, or an error reply, for the oldest command in flight.
    void confirmed(bool refused) {
        if (inflight.empty())
            return;
        if (refused) {
            // The whole command failed (an ACL refusal, say): the waiters covering it learn it, and its
            // names leave the set, lest every re-subscription after a reconnection fail with them.
            bool told = false;
            for (auto& w : waiters) {
                if (w.threshold > completed) {
                    told = true;
                    if (!w.error)
                        w.error = errc::subscribe_failed;
                }
            }
            if (!told)
                unreported_refusal = true;
            auto& set = inflight.front().what == op::psubscribe ? patterns : channels;
            for (const auto& n : inflight.front().names)
                set.erase(n);
            inflight.front().remaining = 0;
        } else if (inflight.front().remaining > 0) {
            --inflight.front().remaining;
        }
        if (inflight.front().remaining == 0) {
            inflight.pop_front();
            ++completed;
            resolve();
        }
    }

    void deliver(std::string_view channel, std::string_view payload) {
        if (!on_message || closed)
            return;
        try {
            on_message(channel, payload);
        } catch (...) {
        }
    }

    static bool is(const reply& r, std::string_view s) {
        return r.type == reply::kind::string && r.str.size() == s.size() &&
               std::equal(s.begin(), s.end(), r.str.begin(),
                          [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b); });
    }

    /// One reply from the session's reader: a message, or a confirmation. Never ends the session.
    std::error_code take(const reply& r) {
        if (r.type == reply::kind::error) {
            confirmed(true);
            return {};
        }
        if (r.type != reply::kind::array || r.elements.empty())
            return {};
        const auto& e = r.elements;
        if (is(e[0], "message")) {
            if (e.size() >= 3)
                deliver(e[1].str, e[2].str);
        } else if (is(e[0], "pmessage")) {
            if (e.size() >= 4)
                deliver(e[2].str, e[3].str);
        } else if (is(e[0], "subscribe") || is(e[0], "psubscribe") || is(e[0], "unsubscribe") ||
                   is(e[0], "punsubscribe")) {
            confirmed(false);
        }
        // anything else ("pong", ...) is ignored
        return {};
    }

    void shutdown() {
        if (!mark_closed())
            return;
        backoff.cancel();
        fail_waiters(errc::closed);
    }

    struct run_done {
        std::shared_ptr<impl> self;
        void operator()(std::exception_ptr e) const {
            // Only an allocation failure gets here; the connection cannot go on.
            if (e) {
                if (auto s = self->current) // a copy: session_ended resets `current`
                    self->session_ended(s, std::make_error_code(std::errc::not_enough_memory));
                self->closed = true;
                self->shutdown();
            }
        }
    };

    /// Connects, reads until the connection is lost, waits, again; until closed.
    static net::awaitable<void> run(std::shared_ptr<impl> self) {
        while (self->st != state::closed) {
            auto s = std::make_shared<session>(self->strand, self->ep);
            self->current = s;
            self->st = state::connecting;
            co_await run_session(self, s, false);
            if (self->st == state::closed)
                break;
            self->backoff.expires_after(self->delay);
            self->delay = next_delay(self->delay, self->ep);
            co_await self->backoff.async_wait(net::as_tuple(net::use_awaitable));
        }
    }
};

subscriber_connection::subscriber_connection(net::any_io_executor ex, endpoint ep, message_handler on_message,
                                             state_handler on_state)
    : impl_(
          std::make_shared<impl>(std::move(ex), std::move(ep), std::move(on_message), std::move(on_state))) {
    impl_->start();
}

subscriber_connection::~subscriber_connection() {
    close();
}

void subscriber_connection::subscribe(std::vector<std::string> channels) {
    impl_->post_change(impl::op::subscribe, std::move(channels));
}

void subscriber_connection::psubscribe(std::vector<std::string> patterns) {
    impl_->post_change(impl::op::psubscribe, std::move(patterns));
}

void subscriber_connection::unsubscribe(std::vector<std::string> channels) {
    impl_->post_change(impl::op::unsubscribe, std::move(channels));
}

void subscriber_connection::punsubscribe(std::vector<std::string> patterns) {
    impl_->post_change(impl::op::punsubscribe, std::move(patterns));
}

net::awaitable<std::error_code> subscriber_connection::synced() {
    auto self = impl_;
    if (self->closed)
        co_return make_error_code(errc::closed);
    auto ch = std::make_shared<impl::sync_channel>(co_await net::this_coro::executor, 1);
    net::dispatch(self->strand, [self, ch]() mutable { self->add_sync(std::move(ch)); });
    auto [ec, result] = co_await ch->async_receive(net::as_tuple(net::use_awaitable));
    if (ec)
        co_return std::error_code(ec);
    co_return result;
}

bool subscriber_connection::connected() const noexcept {
    return impl_->connected();
}

void subscriber_connection::close() {
    close_connection(impl_);
}

} // namespace sio::redis_detail
