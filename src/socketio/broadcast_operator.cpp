// The broadcast operators: which sockets of a namespace an emit or a utility method reaches, on this
// server and, through the adapter, on the others.
#include <sio/adapter.hpp>
#include <sio/broadcast.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <iterator>

#include "../result_channel.hpp"
#include "event_packet.hpp"
#include "namespace_state.hpp"
#include "reserved_events.hpp"

namespace sio {

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
    detail::refuse_reserved_emit(event);
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

/// What `fetch_sockets` reports of local sockets (id, handshake, rooms, data), copied on each socket's own
/// strand, where its data may be read, so that a local socket is a snapshot like a remote one. Resolves
/// on the caller's executor once every copy is made.
boost::asio::awaitable<std::vector<socket_details>> snapshot_on_strands(const std::vector<socket>& sockets) {
    struct state {
        std::vector<socket_details> details;
        std::atomic<std::size_t> left;
        std::shared_ptr<detail::result_channel<bool>> done;
    };
    if (sockets.empty())
        co_return std::vector<socket_details>{};
    auto st = std::make_shared<state>();
    st->details.resize(sockets.size());
    st->left = sockets.size();
    st->done = std::make_shared<detail::result_channel<bool>>(co_await boost::asio::this_coro::executor, 1);
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        boost::asio::dispatch(sockets[i].executor(), [st, s = sockets[i], i] {
            auto& d = st->details[i]; // each strand writes its own element
            d.id = s.id();
            d.handshake = s.handshake();
            d.rooms = s.rooms();
            d.data = s.data();
            if (--st->left == 0)
                st->done->try_send(boost::system::error_code{}, true);
        });
    }
    (void)co_await st->done->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return std::move(st->details);
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
        detail::count_adapter_request(*n, metrics_detail::adapter_op::fetch_sockets,
                                      part.error); // metrics hook
        merge_status(out, part);
        out.sockets.reserve(out.sockets.size() + part.local.size() + part.remote.size());
        auto details = co_await snapshot_on_strands(part.local);
        for (std::size_t i = 0; i < part.local.size(); ++i)
            out.sockets.emplace_back(n, std::move(details[i]), std::move(part.local[i]));
        for (auto& d : part.remote)
            out.sockets.emplace_back(n, std::move(d));
    }
    co_return out;
}

boost::asio::awaitable<broadcast_ack_result>
broadcast_operator::emit_with_ack_arguments(std::string event, arguments args) const {
    detail::refuse_reserved_emit(event);
    return emit_with_ack_impl(nsp_, flags_, std::move(event), std::move(args));
}

boost::asio::awaitable<broadcast_ack_result> broadcast_operator::emit_with_ack_impl(namespace_ptr nsp,
                                                                                    broadcast_flags flags,
                                                                                    std::string event,
                                                                                    arguments args) {
    if (!flags.timeout)
        co_return broadcast_ack_result{error::invalid_argument, {}};
    auto targets = targets_of(nsp);
    if (targets.size() == 1) {
        auto r = co_await targets.front()->adapter().broadcast_with_ack(
            detail::make_event_packet(targets.front()->name_, event, std::move(args)), std::move(flags));
        detail::count_adapter_request(*targets.front(),
                                      metrics_detail::adapter_op::broadcast_ack, // metrics hook
                                      r.error);
        co_return r;
    }
    broadcast_ack_result out;
    for (auto& n : targets) {
        auto part = co_await n->adapter().broadcast_with_ack(
            detail::make_event_packet(n->name_, event, arguments(args)), flags);
        detail::count_adapter_request(*n, metrics_detail::adapter_op::broadcast_ack,
                                      part.error); // metrics hook
        if (part.error && !out.error)
            out.error = part.error;
        out.responses.insert(out.responses.end(), std::make_move_iterator(part.responses.begin()),
                             std::make_move_iterator(part.responses.end()));
    }
    co_return out;
}

} // namespace sio
