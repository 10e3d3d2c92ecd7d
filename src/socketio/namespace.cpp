#include <sio/adapter/memory.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <unordered_set>

#include "../protocol/event_packet.hpp"
#include "access.hpp"
#include "namespace_state.hpp"
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
    co_return co_await nsp->adapter().server_side_emit_with_ack(std::move(event), std::move(args), timeout);
}

boost::asio::awaitable<std::size_t> server_count_impl(std::shared_ptr<detail::namespace_impl> nsp) {
    co_return co_await nsp->adapter().server_count();
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

void namespace_::use_plain(std::function<std::optional<middleware_error>(socket)> mw) const {
    use_coro(
        middleware([mw = std::move(mw)](socket s) -> boost::asio::awaitable<std::optional<middleware_error>> {
            co_return mw(std::move(s));
        }));
}

// --- broadcast_operator -----------------------------------------------------------------------------

namespace {

broadcast_flags with(broadcast_flags f, auto&& change) {
    change(f);
    return f;
}

} // namespace

broadcast_operator broadcast_operator::to(std::string room) const {
    return {nsp_, with(flags_, [&](broadcast_flags& f) { f.rooms.push_back(std::move(room)); })};
}
broadcast_operator broadcast_operator::to(const std::vector<std::string>& rooms) const {
    return {nsp_, with(flags_, [&](broadcast_flags& f) {
                f.rooms.insert(f.rooms.end(), rooms.begin(), rooms.end());
            })};
}
broadcast_operator broadcast_operator::except(std::string room) const {
    return {nsp_, with(flags_, [&](broadcast_flags& f) { f.except.push_back(std::move(room)); })};
}
broadcast_operator broadcast_operator::except(const std::vector<std::string>& rooms) const {
    return {nsp_, with(flags_, [&](broadcast_flags& f) {
                f.except.insert(f.except.end(), rooms.begin(), rooms.end());
            })};
}
broadcast_operator broadcast_operator::local() const {
    return {nsp_, with(flags_, [](broadcast_flags& f) { f.local = true; })};
}
broadcast_operator broadcast_operator::volatile_() const {
    return {nsp_, with(flags_, [](broadcast_flags& f) { f.volatile_ = true; })};
}
broadcast_operator broadcast_operator::compress(bool on) const {
    return {nsp_, with(flags_, [on](broadcast_flags& f) { f.compress = on; })};
}
broadcast_operator broadcast_operator::timeout(std::chrono::milliseconds t) const {
    return {nsp_, with(flags_, [t](broadcast_flags& f) { f.timeout = t; })};
}

void broadcast_operator::emit_arguments(std::string_view event, arguments args) const {
    nsp_->broadcast(detail::make_event_packet(nsp_->name_, event, std::move(args)), flags_);
}

std::vector<socket> broadcast_operator::sockets() const {
    return nsp_->select(flags_);
}

// The utility methods. A parent namespace applies them to each of its children in turn.

namespace {

using namespace_ptr = std::shared_ptr<detail::namespace_impl>;

/// The namespaces an operation applies to: the namespace, or a parent's children.
std::vector<namespace_ptr> targets_of(const namespace_ptr& nsp) {
    if (nsp->matcher_)
        return nsp->children();
    return {nsp};
}

enum class room_op { join, leave };

boost::asio::awaitable<std::error_code> rooms_impl(namespace_ptr nsp, broadcast_flags flags,
                                                   std::vector<std::string> rooms, room_op op) {
    std::error_code first;
    for (auto& n : targets_of(nsp)) {
        std::error_code ec;
        if (op == room_op::join)
            ec = co_await n->adapter().add_sockets(flags, rooms);
        else
            ec = co_await n->adapter().del_sockets(flags, rooms);
        if (ec && !first)
            first = ec;
    }
    co_return first;
}

boost::asio::awaitable<std::error_code> disconnect_impl(namespace_ptr nsp, broadcast_flags flags,
                                                        bool close) {
    std::error_code first;
    for (auto& n : targets_of(nsp)) {
        const auto ec = co_await n->adapter().disconnect_sockets(flags, close);
        if (ec && !first)
            first = ec;
    }
    co_return first;
}

/// Adds what one namespace's adapter answered to `out`.
void merge_status(cluster_status& out, const cluster_status& part) {
    if (part.error && !out.error)
        out.error = part.error;
    out.expected += part.expected;
    out.answered += part.answered;
    out.silent.insert(out.silent.end(), part.silent.begin(), part.silent.end());
}

} // namespace

boost::asio::awaitable<std::error_code>
broadcast_operator::sockets_join(std::vector<std::string> rooms) const {
    return rooms_impl(nsp_, flags_, std::move(rooms), room_op::join);
}

boost::asio::awaitable<std::error_code>
broadcast_operator::sockets_leave(std::vector<std::string> rooms) const {
    return rooms_impl(nsp_, flags_, std::move(rooms), room_op::leave);
}

boost::asio::awaitable<std::error_code> broadcast_operator::disconnect_sockets(bool close) const {
    return disconnect_impl(nsp_, flags_, close);
}

boost::asio::awaitable<fetch_sockets_result> broadcast_operator::fetch_sockets() const {
    return fetch_impl(nsp_, flags_);
}

boost::asio::awaitable<fetch_sockets_result> broadcast_operator::fetch_impl(namespace_ptr nsp,
                                                                            broadcast_flags flags) {
    fetch_sockets_result out;
    for (auto& n : targets_of(nsp)) {
        auto part = co_await n->adapter().fetch_sockets(flags);
        merge_status(out, part);
        out.sockets.reserve(out.sockets.size() + part.local.size() + part.remote.size());
        for (auto& s : part.local) {
            socket_details d;
            d.id = s.id();
            d.rooms = n->adapter().socket_rooms(s); // the handshake is read from the socket itself
            // `data` belongs to the socket's strand: remote_socket::data() reads the socket's own.
            out.sockets.emplace_back(n, std::move(d), std::move(s));
        }
        for (auto& d : part.remote)
            out.sockets.emplace_back(n, std::move(d));
    }
    co_return out;
}

boost::asio::awaitable<broadcast_ack_result>
broadcast_operator::emit_with_ack_arguments(std::string event, arguments args) const {
    return emit_with_ack_impl(nsp_, flags_, std::move(event), std::move(args));
}

boost::asio::awaitable<broadcast_ack_result> broadcast_operator::emit_with_ack_impl(namespace_ptr nsp,
                                                                                    broadcast_flags flags,
                                                                                    std::string event,
                                                                                    arguments args) {
    if (!flags.timeout)
        co_return broadcast_ack_result{error::invalid_argument, {}};
    auto targets = targets_of(nsp);
    if (targets.size() == 1)
        co_return co_await targets.front()->adapter().broadcast_with_ack(
            detail::make_event_packet(targets.front()->name_, event, std::move(args)), std::move(flags));
    broadcast_ack_result out;
    for (auto& n : targets) {
        auto part = co_await n->adapter().broadcast_with_ack(
            detail::make_event_packet(n->name_, event, arguments(args)), flags);
        if (part.error && !out.error)
            out.error = part.error;
        out.responses.insert(out.responses.end(), std::make_move_iterator(part.responses.begin()),
                             std::make_move_iterator(part.responses.end()));
    }
    co_return out;
}

// --- remote_socket ---------------------------------------------------------------------------------------

broadcast_operator remote_socket::only_this() const {
    broadcast_flags f;
    f.rooms.push_back(details_.id);
    if (timeout_)
        f.timeout = timeout_;
    return broadcast_operator(nsp_, std::move(f));
}

void remote_socket::emit_arguments(std::string_view event, arguments args) const {
    if (local_)
        local_.emit_arguments(event, std::move(args));
    else
        only_this().emit_arguments(event, std::move(args));
}

namespace {

boost::asio::awaitable<ack_result> remote_emit_with_ack(broadcast_operator op, std::string event,
                                                        arguments args) {
    auto r = co_await op.emit_with_ack_arguments(std::move(event), std::move(args));
    if (r.error)
        co_return ack_result{r.error, {}};
    if (r.responses.empty())
        co_return ack_result{make_error_code(error::not_connected), {}};
    co_return ack_result{{}, std::move(r.responses.front())};
}

// A local socket's operations run when awaited, like the remote ones.
boost::asio::awaitable<std::error_code> join_local(socket s, std::vector<std::string> rooms) {
    s.join(rooms);
    co_return std::error_code{};
}
boost::asio::awaitable<std::error_code> leave_local(socket s, std::string room) {
    s.leave(room);
    co_return std::error_code{};
}
boost::asio::awaitable<std::error_code> disconnect_local(socket s, bool close) {
    s.disconnect(close);
    co_return std::error_code{};
}

} // namespace

boost::asio::awaitable<ack_result> remote_socket::emit_with_ack_arguments(std::string event,
                                                                          arguments args) const {
    if (local_ && timeout_)
        return local_.timeout(*timeout_).emit_with_ack_arguments(std::move(event), std::move(args));
    return remote_emit_with_ack(only_this(), std::move(event), std::move(args));
}

boost::asio::awaitable<std::error_code> remote_socket::join(std::vector<std::string> rooms) const {
    if (local_)
        return join_local(local_, std::move(rooms));
    return only_this().sockets_join(std::move(rooms));
}

boost::asio::awaitable<std::error_code> remote_socket::leave(std::string room) const {
    if (local_)
        return leave_local(local_, std::move(room));
    return only_this().sockets_leave(std::move(room));
}

boost::asio::awaitable<std::error_code> remote_socket::disconnect(bool close) const {
    if (local_)
        return disconnect_local(local_, close);
    return only_this().disconnect_sockets(close);
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
                               std::shared_ptr<namespace_impl> parent, bool is_parent)
    : abandonable(server->executor_), server_(server), name_(std::move(name)), parent_(std::move(parent)),
      executor_(server->executor_), adapter_(make_adapter(server, *this, is_parent)) {}

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
        adapter_->broadcast(std::move(p), f);
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

std::vector<std::shared_ptr<namespace_impl>> namespace_impl::children() const {
    std::lock_guard lock(mutex_);
    return children_;
}

} // namespace sio::detail
