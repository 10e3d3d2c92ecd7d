#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "../log.hpp"
#include "access.hpp"
#include "beast_detail.hpp"
#include "server_impl.hpp"
#include "session_impl.hpp"
#include "test_hooks.hpp"
#include <sys/random.h>

namespace sio::engineio {

namespace {

/// Random bytes from the kernel, fetched 4 KB at a time per thread (like the reference's base64id pool):
/// one getrandom call per 272 ids instead of one per id.
void random_bytes(unsigned char* out, std::size_t n) {
    struct pool {
        std::array<unsigned char, 4080> bytes{};
        std::size_t used = 4080;
    };
    thread_local pool p;
    while (n > 0) {
        if (p.used == p.bytes.size()) {
            std::size_t got = 0;
            while (got < p.bytes.size()) {
                const ssize_t r = ::getrandom(p.bytes.data() + got, p.bytes.size() - got, 0);
                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    throw std::system_error(errno, std::generic_category(), "getrandom");
                }
                got += static_cast<std::size_t>(r);
            }
            p.used = 0;
        }
        const std::size_t take = std::min(n, p.bytes.size() - p.used);
        std::memcpy(out, p.bytes.data() + p.used, take);
        std::memset(p.bytes.data() + p.used, 0, take); // handed-out bytes do not stay in the pool
        p.used += take;
        out += take;
        n -= take;
    }
}

} // namespace

std::string generate_session_id() {
    std::array<unsigned char, 15> bytes{};
    random_bytes(bytes.data(), bytes.size());
    std::string id(detail::base64_encoded_size(bytes.size()), '\0');
    id.resize(detail::base64_encode(id.data(), bytes.data(), bytes.size()));
    for (char& c : id) { // base64url, like the reference
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return id;
}

server::server(boost::asio::any_io_executor executor, engine_options options)
    : impl_(detail::abandonable::make<detail::server_impl>(std::move(executor), std::move(options))) {}

server::~server() {
    impl_->close();
}

std::error_code server::listen(std::string_view address, std::uint16_t port) {
    boost::system::error_code bec;
    const auto addr = boost::asio::ip::make_address(address, bec);
    if (bec)
        return bec;
    std::error_code ec;
    impl_->listen({addr, port}, ec);
    return ec;
}

std::error_code server::listen(std::string_view address, std::uint16_t port, boost::asio::ssl::context& tls) {
    boost::system::error_code bec;
    const auto addr = boost::asio::ip::make_address(address, bec);
    if (bec)
        return bec;
    std::error_code ec;
    impl_->listen({addr, port}, ec, &tls);
    return ec;
}

std::uint16_t server::local_port() const noexcept {
    return impl_->port_;
}
void server::accept(boost::asio::ip::tcp::socket socket) {
    impl_->accept(std::move(socket));
}
void server::accept(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls) {
    impl_->accept(std::move(socket), &tls);
}
void server::on_connection(std::function<void(session)> handler) {
    impl_->on_connection_ = std::move(handler);
}
void server::generate_id(std::function<boost::asio::awaitable<std::string>(const request_info&)> generator) {
    impl_->generate_id_ = std::move(generator);
}
void server::on_initial_headers(std::function<void(header_list&, const request_info&)> handler) {
    impl_->on_initial_headers_ = std::move(handler);
}
void server::on_headers(std::function<void(header_list&, const request_info&)> handler) {
    impl_->on_headers_ = std::move(handler);
}
void server::on_connection_error(std::function<void(const connection_error&)> handler) {
    impl_->on_connection_error_ = std::move(handler);
}
std::size_t server::clients_count() const noexcept {
    return impl_->count();
}
const engine_options& server::options() const noexcept {
    return impl_->options_;
}
void server::close() {
    impl_->close();
}
bool server::handles(std::string_view target) const noexcept {
    return detail::path_matches(*impl_, target);
}

} // namespace sio::engineio

namespace sio::engineio::detail {

void set_static_route(server& s, static_route route) {
    access::impl(s)->static_route_ = std::move(route);
}

void set_metrics(server& s, std::shared_ptr<sio::metrics_detail::registry> r) {
    access::impl(s)->metrics_ = std::move(r);
}

void use_manual_clock(server& s, std::shared_ptr<sio::detail::manual_clock> clock) {
    auto& impl = *access::impl(s);
    impl.heartbeats_->stop();
    impl.heartbeats_ = std::make_shared<heartbeat_wheel>(impl.executor_, impl.heartbeats_->tick(), clock);
    impl.manual_clock_ = std::move(clock);
}

void close_gracefully(server& s, std::chrono::milliseconds deadline, std::function<void()> done) {
    access::impl(s)->close_gracefully(deadline, std::move(done));
}

server_impl::server_impl(net::any_io_executor ex, engine_options opts)
    : abandonable(ex), executor_(std::move(ex)), options_(std::move(opts)),
      heartbeats_(std::make_shared<heartbeat_wheel>(
          executor_, heartbeat_wheel::tick_for(std::min(
                         {options_.ping_interval, options_.ping_timeout, options_.polling_close_timeout})))) {
    enable_log_scopes_from_environment();
    if (const auto& d = options_.per_message_deflate) {
        const auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
        if (!in(d->server_max_window_bits, 9, 15) || !in(d->client_max_window_bits, 9, 15) ||
            !in(d->mem_level, 1, 9))
            throw std::invalid_argument("sio: per_message_deflate: server_max_window_bits and "
                                        "client_max_window_bits must be 9..15, mem_level 1..9");
    }
}

void server_impl::abandon() noexcept {
    heartbeats_->stop();
    decltype(sessions_) sessions;
    std::shared_ptr<net::ip::tcp::acceptor> acceptor;
    std::vector<std::function<void()>> drained_handlers; // they may hold the server that owns this one
    {
        std::lock_guard lock(mutex_);
        sessions.swap(sessions_);
        unlist_connections(nullptr);
        acceptor.swap(acceptor_);
        drained_handlers.swap(drained_handlers_);
        drain_timer_.reset();
    }
    auto hooks =
        std::make_tuple(std::move(on_connection_), std::move(generate_id_), std::move(on_initial_headers_),
                        std::move(on_headers_), std::move(on_connection_error_));
    on_connection_ = nullptr;
    generate_id_ = nullptr;
    on_initial_headers_ = nullptr;
    on_headers_ = nullptr;
    on_connection_error_ = nullptr;
}

std::shared_ptr<session_impl> server_impl::find(std::string_view sid) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(sid);
    return it == sessions_.end() ? nullptr : it->second;
}

bool server_impl::insert(const std::shared_ptr<session_impl>& s) {
    std::lock_guard lock(mutex_);
    if (closed_.load() || draining_ || !sessions_.emplace(std::string_view(s->id()), s).second)
        return false;
    count_.store(sessions_.size(), std::memory_order_relaxed);
    return true;
}

void server_impl::erase(const std::string& sid) {
    std::lock_guard lock(mutex_);
    sessions_.erase(sid);
    count_.store(sessions_.size(), std::memory_order_relaxed);
    if (draining_ && sessions_.empty() && drain_timer_)
        net::post(drain_timer_->get_executor(), [t = drain_timer_] { t->cancel(); });
}

void server_impl::close_gracefully(std::chrono::milliseconds deadline, std::function<void()> done) {
    std::vector<std::shared_ptr<session_impl>> sessions;
    std::shared_ptr<net::ip::tcp::acceptor> acceptor;
    std::shared_ptr<net::steady_timer> timer;
    {
        std::lock_guard lock(mutex_);
        if (drained_) { // already over
            net::post(executor_, std::move(done));
            return;
        }
        drained_handlers_.push_back(std::move(done));
        if (draining_)
            return;
        draining_ = true;
        for (const auto& [id, s] : sessions_)
            sessions.push_back(s);
        acceptor.swap(acceptor_);
        timer = drain_timer_ = std::make_shared<net::steady_timer>(net::make_strand(executor_));
    }
    if (acceptor)
        net::post(acceptor->get_executor(), [acceptor] {
            boost::system::error_code ignored;
            acceptor->close(ignored);
        });
    for (auto& s : sessions)
        s->close_gracefully();
    // The wait starts on the timer's strand, where erase() posts its cancel: a cancel that came first is
    // seen through the empty table.
    net::post(timer->get_executor(), [self = shared_from_this(), timer, deadline] {
        {
            std::lock_guard lock(self->mutex_);
            if (self->sessions_.empty())
                timer->expires_at(net::steady_timer::time_point::min());
            else
                timer->expires_after(deadline);
        }
        timer->async_wait([self, timer](boost::system::error_code) {
            self->close(); // whatever is left, and the idle HTTP connections
            std::vector<std::function<void()>> handlers;
            {
                std::lock_guard lock(self->mutex_);
                self->drained_ = true;
                handlers.swap(self->drained_handlers_);
                self->drain_timer_.reset();
            }
            for (auto& h : handlers)
                h();
        });
    });
}

bool server_impl::add_connection(listed_connection& c) {
    std::lock_guard lock(mutex_);
    if (closed_.load())
        return false;
    c.prev = nullptr;
    c.next = connections_;
    if (connections_)
        connections_->prev = &c;
    connections_ = &c;
    c.listed = true;
    ++connection_count_;
    return true;
}

void server_impl::remove_connection(listed_connection& c) noexcept {
    std::lock_guard lock(mutex_);
    if (!c.listed)
        return;
    if (c.prev)
        c.prev->next = c.next;
    else
        connections_ = c.next;
    if (c.next)
        c.next->prev = c.prev;
    c.prev = c.next = nullptr;
    c.listed = false;
    --connection_count_;
}

void server_impl::unlist_connections(std::vector<std::weak_ptr<stream>>* out) {
    if (out)
        out->reserve(connection_count_); // the only step that may throw: before the list changes
    for (auto* c = std::exchange(connections_, nullptr); c;) {
        auto* next = c->next;
        if (out)
            out->push_back(c->io);
        c->prev = c->next = nullptr;
        c->listed = false;
        c = next;
    }
    connection_count_ = 0;
}

void server_impl::end_connection(const std::weak_ptr<stream>& weak) {
    const auto s = weak.lock();
    if (!s)
        return;
    net::post(s->get_executor(), [weak] {
        if (const auto s = weak.lock()) {
            boost::system::error_code ignored;
            s->socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
            s->socket().close(ignored);
        }
    });
}

void server_impl::listen(net::ip::tcp::endpoint ep, std::error_code& ec, net::ssl::context* tls) {
    auto acceptor = std::make_shared<net::ip::tcp::acceptor>(executor_);
    boost::system::error_code bec;
    acceptor->open(ep.protocol(), bec);
    if (!bec)
        acceptor->set_option(net::socket_base::reuse_address(true), bec);
    if (!bec)
        acceptor->bind(ep, bec);
    if (!bec)
        acceptor->listen(net::socket_base::max_listen_connections, bec);
    if (bec) {
        ec = bec;
        return;
    }
    port_ = acceptor->local_endpoint().port();
    SIO_LOG(engine, info, "listening on ", ep.address().to_string(), ":", port_);
    {
        std::lock_guard lock(mutex_);
        acceptor_ = acceptor;
    }
    net::co_spawn(executor_, accept_loop(acceptor, tls), net::detached);
}

net::awaitable<void> server_impl::accept_loop(std::shared_ptr<net::ip::tcp::acceptor> acceptor,
                                              net::ssl::context* tls) {
    auto self = shared_from_this();
    net::steady_timer backoff(executor_);
    while (!closed_.load()) {
        auto [ec, socket] = co_await acceptor->async_accept(make_session_strand(executor_),
                                                            net::as_tuple(net::use_awaitable));
        if (ec == net::error::operation_aborted || !acceptor->is_open())
            co_return;
        if (ec) {
            SIO_LOG(engine, warning, "accept failed: ", ec);
            // EMFILE and friends: wait a little instead of spinning.
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        accept(std::move(socket), tls);
    }
}

void server_impl::accept(net::ip::tcp::socket socket, net::ssl::context* tls) {
    // Small frames go out at once (a packet and its attachments are several writes), like Node's `ws`.
    boost::system::error_code ignored;
    socket.set_option(net::ip::tcp::no_delay(true), ignored);
    net::co_spawn(socket.get_executor(), serve_connection(shared_from_this(), std::move(socket), tls),
                  net::detached);
}

void server_impl::close() {
    decltype(sessions_) sessions;
    std::vector<std::weak_ptr<stream>> connections;
    std::shared_ptr<net::ip::tcp::acceptor> acceptor;
    {
        std::lock_guard lock(mutex_);
        if (closed_.exchange(true))
            return;
        sessions.swap(sessions_);
        unlist_connections(&connections);
        acceptor.swap(acceptor_);
        count_.store(0);
    }
    SIO_LOG(engine, debug, "closing all open clients (", sessions.size(), ")");
    if (acceptor)
        net::post(acceptor->get_executor(), [acceptor] {
            boost::system::error_code ignored;
            acceptor->close(ignored);
        });
    for (auto& [id, s] : sessions)
        s->close(close_reason::forced_server_close, "server closed");
    for (const auto& c : connections)
        end_connection(c);
    // Every session is closed: what the wheel holds is stale, and its timer must not keep run() going.
    heartbeats_->stop();
}

} // namespace sio::engineio::detail
