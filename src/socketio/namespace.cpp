#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "impl.hpp"

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

namespace detail {
namespace {

/// The event of a broadcast packet as the recipients' `on_any_outgoing` listeners see it.
std::shared_ptr<const socket_impl::outgoing_event> outgoing_of(const protocol::packet& p) {
    const auto& values = p.data.as_array();
    socket_impl::outgoing_event ev;
    ev.name = std::string(values.front().as_string());
    ev.args.values = boost::json::array(values.begin() + 1, values.end());
    ev.args.attachments = p.attachments;
    return std::make_shared<const socket_impl::outgoing_event>(std::move(ev));
}

} // namespace
} // namespace detail

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
    std::vector<socket> out;
    for (auto& s : nsp_->select(flags_))
        out.emplace_back(std::move(s));
    return out;
}

boost::asio::awaitable<broadcast_ack_result>
broadcast_operator::emit_with_ack_arguments(std::string event, arguments args) const {
    return emit_with_ack_impl(nsp_, flags_, std::move(event), std::move(args));
}

boost::asio::awaitable<broadcast_ack_result>
broadcast_operator::emit_with_ack_impl(std::shared_ptr<detail::namespace_impl> nsp, broadcast_flags flags,
                                       std::string event, arguments args) {
    if (!flags.timeout)
        co_return broadcast_ack_result{error::invalid_argument, {}};
    auto targets = nsp->select(flags);
    auto packet = detail::make_event_packet(nsp->name_, event, std::move(args));
    auto timeout = flags.timeout;
    const bool compress = flags.compress;
    auto channel = std::make_shared<detail::result_channel<broadcast_ack_result>>(
        co_await boost::asio::this_coro::executor, 1);
    if (targets.empty())
        co_return broadcast_ack_result{};
    // The recipients answer on their own strands; the last one hands the result over.
    struct state {
        std::mutex mutex;
        std::size_t remaining = 0;
        broadcast_ack_result result;
    };
    auto st = std::make_shared<state>();
    st->remaining = targets.size();
    std::shared_ptr<const detail::socket_impl::outgoing_event> outgoing;
    for (auto& t : targets) {
        if (t->has_outgoing_listeners_.load()) {
            if (!outgoing)
                outgoing = detail::outgoing_of(packet);
            t->notify_outgoing(outgoing);
        }
        protocol::packet p = packet;
        p.nsp = t->nsp_->name_;
        t->start_ack(std::move(p), timeout, compress, [st, channel](ack_result r) {
            std::unique_lock lock(st->mutex);
            if (r.error)
                st->result.error = error::ack_timeout;
            else
                st->result.responses.push_back(std::move(r.args));
            if (--st->remaining == 0)
                channel->try_send(boost::system::error_code{}, std::move(st->result));
        });
    }
    auto [ec, result] = co_await channel->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec)
        result.error = ec;
    co_return std::move(result);
}

} // namespace sio

namespace sio::detail {

namespace_impl::namespace_impl(std::shared_ptr<server_impl> server, std::string name,
                               std::shared_ptr<namespace_impl> parent)
    : server_(server), name_(std::move(name)), parent_(std::move(parent)) {}

void namespace_impl::add(const std::shared_ptr<socket_impl>& s) {
    std::lock_guard lock(mutex_);
    sockets_.emplace(s->id_, s);
    s->rooms_.insert(s->id_);
    rooms_[s->id_].insert(s.get());
}

void namespace_impl::remove(const std::shared_ptr<socket_impl>& s) {
    std::lock_guard lock(mutex_);
    for (const auto& room : s->rooms_) {
        if (auto it = rooms_.find(room); it != rooms_.end()) {
            it->second.erase(s.get());
            if (it->second.empty())
                rooms_.erase(it);
        }
    }
    s->rooms_.clear();
    sockets_.erase(s->id_);
}

void namespace_impl::join(socket_impl& s, const std::vector<std::string>& rooms) {
    std::lock_guard lock(mutex_);
    if (!sockets_.contains(s.id_))
        return; // disconnected
    for (const auto& room : rooms) {
        if (s.rooms_.insert(room).second)
            rooms_[room].insert(&s);
    }
}

void namespace_impl::leave(socket_impl& s, const std::string& room) {
    std::lock_guard lock(mutex_);
    if (s.rooms_.erase(room) == 0)
        return;
    if (auto it = rooms_.find(room); it != rooms_.end()) {
        it->second.erase(&s);
        if (it->second.empty())
            rooms_.erase(it);
    }
}

std::vector<std::string> namespace_impl::rooms_of(const socket_impl& s) const {
    std::lock_guard lock(mutex_);
    return {s.rooms_.begin(), s.rooms_.end()};
}

std::vector<std::shared_ptr<socket_impl>> namespace_impl::select(const broadcast_flags& f) const {
    std::vector<std::shared_ptr<socket_impl>> out;
    if (matcher_) { // a parent: its children's sockets
        for (auto& child : children()) {
            auto part = child->select(f);
            out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
        }
        return out;
    }
    std::lock_guard lock(mutex_);
    auto excluded = [&](const socket_impl& s) {
        return std::any_of(f.except.begin(), f.except.end(),
                           [&](const std::string& r) { return s.rooms_.contains(r); });
    };
    if (f.rooms.empty()) {
        out.reserve(sockets_.size());
        for (const auto& [id, s] : sockets_)
            if (!excluded(*s))
                out.push_back(s);
        return out;
    }
    std::unordered_set<const socket_impl*> seen;
    for (const auto& room : f.rooms) {
        auto it = rooms_.find(room);
        if (it == rooms_.end())
            continue;
        for (auto* s : it->second)
            if (seen.insert(s).second && !excluded(*s))
                out.push_back(s->shared_from_this());
    }
    return out;
}

void namespace_impl::broadcast(protocol::packet p, const broadcast_flags& f) {
    if (matcher_) {
        for (auto& child : children())
            child->broadcast(p, f);
        return;
    }
    p.nsp = name_;
    const auto targets = select(f);
    if (targets.empty())
        return;
    const auto encoded = protocol::encode(p); // once, whatever the number of recipients
    std::shared_ptr<const socket_impl::outgoing_event> outgoing;
    for (const auto& s : targets) {
        if (!s->connected_.load())
            continue;
        if (s->has_outgoing_listeners_.load()) { // like the reference adapter's notifyOutgoingListeners
            if (!outgoing)
                outgoing = outgoing_of(p);
            s->notify_outgoing(outgoing);
        }
        send_encoded(s->session_, encoded, f.volatile_, f.compress);
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
    children_.clear();
}

bool namespace_impl::empty() const {
    std::lock_guard lock(mutex_);
    return sockets_.empty();
}

std::vector<std::shared_ptr<namespace_impl>> namespace_impl::children() const {
    std::lock_guard lock(mutex_);
    return children_;
}

} // namespace sio::detail
