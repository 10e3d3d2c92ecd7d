// A namespace: its handlers and middlewares (namespace_), and its state with its adapter (namespace_impl).
#include <sio/adapter/memory.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <typeinfo>

#include "../log.hpp"
#include "fanout_queue.hpp"
#include "namespace_state.hpp"
#include "reserved_events.hpp"
#include "server_state.hpp"
#include "socket_state.hpp"

namespace sio {

// --- namespace_ -------------------------------------------------------------------------------------

const std::string& namespace_::name() const noexcept {
    return impl_->name_;
}

void namespace_::on_connection_plain(connection_handler handler) const {
    std::lock_guard lock(impl_->mutex_);
    impl_->on_connection_.push_back(std::move(handler));
}

void namespace_::on_connection_coro(std::function<boost::asio::awaitable<void>(socket)> handler) const {
    std::lock_guard lock(impl_->mutex_);
    impl_->on_connection_coro_.push_back(std::move(handler));
}

void namespace_::use_coro(middleware mw) const {
    std::lock_guard lock(impl_->mutex_);
    impl_->middlewares_.push_back(std::move(mw));
}

void namespace_::on(std::string event, std::function<void(sio::event&)> handler) const {
    detail::refuse_reserved_namespace_listener(event);
    std::lock_guard lock(impl_->mutex_);
    impl_->server_side_handlers_[std::move(event)].push_back(std::move(handler));
}

sio::adapter& namespace_::adapter() const noexcept {
    return impl_->adapter();
}

namespace {

bool reserved_server_side_event(std::string_view name) {
    return name == "connect" || name == "connection" || name == "new_namespace";
}

boost::asio::awaitable<std::error_code> server_side_emit_impl(std::shared_ptr<detail::namespace_impl> nsp,
                                                              std::string event, arguments args) {
    if (reserved_server_side_event(event))
        co_return make_error_code(error::reserved_event);
    co_return co_await nsp->adapter().server_side_emit(std::move(event), std::move(args));
}

boost::asio::awaitable<server_side_responses>
server_side_emit_with_ack_impl(std::shared_ptr<detail::namespace_impl> nsp, std::string event, arguments args,
                               std::chrono::milliseconds timeout) {
    if (reserved_server_side_event(event)) {
        server_side_responses r;
        r.error = error::reserved_event;
        co_return r;
    }
    auto r = co_await nsp->adapter().server_side_emit_with_ack(std::move(event), std::move(args), timeout);
    detail::count_adapter_request(*nsp, metrics_detail::adapter_op::server_side_emit,
                                  r.error); // metrics hook
    co_return r;
}

boost::asio::awaitable<std::size_t> server_count_impl(std::shared_ptr<detail::namespace_impl> nsp) {
    detail::count_adapter_request(*nsp, metrics_detail::adapter_op::server_count, {}); // metrics hook
    co_return co_await nsp->adapter().server_count();
}

boost::asio::awaitable<std::error_code> adapter_ready_impl(std::shared_ptr<detail::namespace_impl> nsp) {
    co_return co_await nsp->adapter().ready();
}

} // namespace

boost::asio::awaitable<std::error_code> namespace_::server_side_emit_arguments(std::string event,
                                                                               arguments args) const {
    return server_side_emit_impl(impl_, std::move(event), std::move(args));
}

boost::asio::awaitable<server_side_responses>
namespace_::server_side_emit_with_ack_arguments(std::string event, arguments args,
                                                std::chrono::milliseconds timeout) const {
    return server_side_emit_with_ack_impl(impl_, std::move(event), std::move(args), timeout);
}

boost::asio::awaitable<std::size_t> namespace_::server_count() const {
    return server_count_impl(impl_);
}

boost::asio::awaitable<std::error_code> namespace_::adapter_ready() const {
    return adapter_ready_impl(impl_);
}

void namespace_::use_plain(std::function<std::optional<middleware_error>(socket)> mw) const {
    use_coro(
        middleware([mw = std::move(mw)](socket s) -> boost::asio::awaitable<std::optional<middleware_error>> {
            co_return mw(std::move(s));
        }));
}

} // namespace sio

namespace sio::detail {

namespace {

std::unique_ptr<sio::adapter> make_adapter(const std::shared_ptr<server_state>& server, adapter_host& host,
                                           bool is_parent) {
    if (server->options_.adapter && !is_parent)
        if (auto a = server->options_.adapter(host))
            return a;
    return std::make_unique<memory_adapter>(host);
}

} // namespace

namespace_impl::namespace_impl(std::shared_ptr<server_state> server, std::string name,
                               std::shared_ptr<namespace_impl> parent, bool is_parent, bool recovery)
    : abandonable(server->executor_), server_(server), name_(std::move(name)), parent_(std::move(parent)),
      executor_(server->executor_), codec_(server->codec_), metrics_(server->metrics_),
      adapter_(make_adapter(server, *this, is_parent)) {
    if (const auto& csr = server->options_.connection_state_recovery; csr && !is_parent && recovery) {
        recovers_ = adapter_->enable_recovery(*csr);
        if (!recovers_ && !server->recovery_warned_.exchange(true))
            SIO_LOG(namespace_, warning, "connection state recovery is enabled, but the adapter of ", name_,
                    " cannot recover sessions (like the reference's Redis adapter): clients get a fresh "
                    "socket after every drop");
    }
}

namespace_impl::~namespace_impl() = default;

void namespace_impl::abandon() noexcept {
    // Destroyed after the lock is released: they may hold the last references to other objects.
    std::unique_ptr<sio::adapter> adapter;
    decltype(children_) children;
    decltype(on_connection_) on_connection;
    decltype(on_connection_coro_) on_connection_coro;
    decltype(middlewares_) middlewares;
    decltype(server_side_handlers_) server_side_handlers;
    std::lock_guard lock(mutex_);
    adapter.swap(adapter_);
    children.swap(children_);
    on_connection.swap(on_connection_);
    on_connection_coro.swap(on_connection_coro_);
    middlewares.swap(middlewares_);
    server_side_handlers.swap(server_side_handlers_);
}

void namespace_impl::deliver_server_side(std::string event, arguments args,
                                         std::function<void(arguments)> reply) {
    std::vector<std::function<void(sio::event&)>> handlers;
    {
        std::lock_guard lock(mutex_);
        auto it = server_side_handlers_.find(event);
        if (it == server_side_handlers_.end())
            return; // no handler: no answer either, like the reference (the sender times out)
        handlers = it->second;
    }
    auto state = std::make_shared<ack_state>();
    state->reply = std::move(reply);
    if (!state->reply)
        state->sent = true;
    // Posted, not dispatched: an adapter may call this while holding its own locks.
    net::post(executor_,
              [handlers = std::move(handlers),
               ev = sio::event{std::move(event), std::move(args), sio::ack(std::move(state))}]() mutable {
                  for (auto& h : handlers) {
                      try {
                          h(ev);
                      } catch (...) { // an application handler must not take the adapter down
                      }
                  }
              });
}

std::vector<socket> namespace_impl::select(const broadcast_flags& f) const {
    if (!matcher_)
        return adapter_->local_sockets(f);
    std::vector<socket> out;
    for (auto& child : children()) {
        auto part = child->select(f);
        out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    return out;
}

void namespace_impl::broadcast(protocol::packet p, const broadcast_flags& f) {
    if (!matcher_) {
        if (!metrics_) {
            adapter_->broadcast(std::move(p), f);
            return;
        }
        // metrics hook: the packets this thread queued during the call are the broadcast's local recipients
        // (tallied, and counted in one addition), with those of a fan-out deferred to the slices (which
        // queue them later)
        metrics_detail::sent_tally tally(*metrics_);
        const auto deferred_before = detail::deferred_recipients();
        adapter_->broadcast(std::move(p), f);
        metrics_->broadcast(tally.close() +
                            static_cast<std::int64_t>(detail::deferred_recipients() - deferred_before));
        return;
    }
    for (auto& child : children()) {
        p.nsp = child->name_;
        child->broadcast(p, f);
    }
}

void namespace_impl::add_child(std::shared_ptr<namespace_impl> child) {
    std::lock_guard lock(mutex_);
    children_.push_back(std::move(child));
}

void namespace_impl::remove_child(const std::shared_ptr<namespace_impl>& child) {
    std::lock_guard lock(mutex_);
    std::erase(children_, child);
}

void namespace_impl::clear_handlers() {
    std::lock_guard lock(mutex_);
    on_connection_.clear();
    on_connection_coro_.clear();
    middlewares_.clear();
    server_side_handlers_.clear();
    children_.clear();
}

bool namespace_impl::empty() const {
    return adapter_->local_sockets({}).empty();
}

void namespace_impl::add_live_pid(const std::string& pid, const std::shared_ptr<socket_impl>& s) {
    std::lock_guard lock(live_pids_mutex_);
    live_pids_[pid] = s;
}

void namespace_impl::remove_live_pid(const std::string& pid, const socket_impl* s) {
    std::lock_guard lock(live_pids_mutex_);
    if (auto it = live_pids_.find(pid); it != live_pids_.end()) {
        auto current = it->second.lock();
        if (!current || current.get() == s)
            live_pids_.erase(it);
    }
}

std::shared_ptr<socket_impl> namespace_impl::live_socket(const std::string& pid) const {
    std::lock_guard lock(live_pids_mutex_);
    const auto it = live_pids_.find(pid);
    return it != live_pids_.end() ? it->second.lock() : nullptr;
}

std::vector<std::shared_ptr<namespace_impl>> namespace_impl::children() const {
    std::lock_guard lock(mutex_);
    return children_;
}

void count_adapter_request(const namespace_impl& nsp, metrics_detail::adapter_op op,
                           const std::error_code& error) noexcept {
    auto* m = nsp.metrics_.get();
    if (!m || typeid(nsp.adapter()) == typeid(memory_adapter)) // one server: nothing asked of others
        return;
    m->add(metrics_detail::cell::adapter_requests + static_cast<std::size_t>(op));
    if (error == sio::error::cluster_timeout || error == sio::error::ack_timeout)
        m->add(metrics_detail::cell::adapter_timeouts + static_cast<std::size_t>(op));
}

} // namespace sio::detail
