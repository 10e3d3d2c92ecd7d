#include <sio/adapter.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include "../engineio/access.hpp"
#include "../log.hpp"
#include "../metrics/server_metrics.hpp"
#include "access.hpp"
#include "client.hpp"
#include "client_bundle.hpp"
#include "fanout_queue.hpp"
#include "server_state.hpp"
#include "socket_state.hpp"

namespace sio {

server::server(boost::asio::any_io_executor executor, server_options options)
    : impl_(std::make_shared<detail::server_state>(std::move(executor), std::move(options))) {
    std::weak_ptr<detail::server_state> weak = impl_;
    impl_->engine_.on_connection([weak](engineio::session session) {
        SIO_LOG(server, debug, "incoming connection with id ", session.id());
        if (auto server = weak.lock()) {
            for (const auto& o : server->observers_)
                o->on_session_open(session);
            std::make_shared<detail::client>(server, std::move(session))->start();
        }
    });
    impl_->of("/");
    const bool serve_metrics = impl_->options_.metrics && (!impl_->options_.metrics->endpoint.empty() ||
                                                           !impl_->options_.metrics->health_endpoint.empty());
    // The metrics (/metrics, /healthz), the routes added later (the Admin UI's page), the client bundle.
    engineio::detail::set_static_route(
        impl_->engine_,
        [weak, path = impl_->options_.engine.path, client = impl_->options_.serve_client, serve_metrics](
            const engineio::detail::static_request& req) -> std::optional<engineio::detail::static_reply> {
            if (serve_metrics) // src/metrics/server_metrics.cpp
                if (auto reply = detail::serve_metrics(weak, req))
                    return reply;
            auto server = weak.lock();
            if (!server)
                return std::nullopt;
            for (const auto& route : server->extra_routes_)
                if (auto reply = route(req))
                    return reply;
            if (client)
                return detail::serve_client_bundle(path, req);
            return std::nullopt;
        });
}

metrics_snapshot server::metrics() const {
    return detail::read_metrics(*impl_);
}

server::~server() {
    impl_->close(std::chrono::milliseconds(0), nullptr);
    impl_->engine_.close(); // at once: the destructor does not wait
}

std::error_code server::listen(std::string_view address, std::uint16_t port) {
    return impl_->engine_.listen(address, port);
}
std::error_code server::listen(std::string_view address, std::uint16_t port, boost::asio::ssl::context& tls) {
    return impl_->engine_.listen(address, port, tls);
}
std::uint16_t server::local_port() const noexcept {
    return impl_->engine_.local_port();
}
engineio::server& server::engine() noexcept {
    return impl_->engine_;
}
namespace_ server::of(std::string_view name) {
    return namespace_(impl_->of(name));
}
namespace_ server::of_without_recovery(std::string_view name) {
    return namespace_(impl_->of(name, false));
}
namespace_ server::of(std::function<bool(std::string_view, const boost::json::object&)> predicate) {
    return namespace_(impl_->add_parent(std::move(predicate)));
}
namespace_ server::of(const std::regex& pattern) {
    return of([pattern](std::string_view name, const boost::json::object&) {
        return std::regex_match(name.begin(), name.end(), pattern);
    });
}
void server::observe(std::shared_ptr<server_observer> observer) {
    if (!observer)
        return;
    impl_->observers_.push_back(observer);
    for (auto& n : impl_->namespaces())
        observer->on_namespace(namespace_(n));
}

namespace {
using close_channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;
boost::asio::awaitable<void> wait_closed(std::shared_ptr<close_channel> closed) {
    co_await closed->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
}
} // namespace

boost::asio::awaitable<void> server::close(std::chrono::milliseconds deadline) {
    auto closed = std::make_shared<close_channel>(impl_->executor_, 1);
    impl_->close(deadline, [closed] { closed->try_send(boost::system::error_code{}); });
    return wait_closed(std::move(closed));
}

} // namespace sio

namespace sio::detail {

const std::shared_ptr<server_state>& access::state(const server& s) noexcept {
    return s.impl_;
}

void add_static_route(server& io, engineio::detail::static_route route) {
    access::state(io)->extra_routes_.push_back(std::move(route));
}

std::string generate_socket_id() {
    return engineio::generate_session_id();
}

server_state::server_state(net::any_io_executor ex, server_options opts)
    : executor_(ex), options_(std::move(opts)),
      codec_(options_.parser.codec ? options_.parser.codec : protocol::json_parser()),
      engine_(std::move(ex), options_.engine),
      metrics_(options_.metrics ? std::make_shared<metrics_detail::registry>() : nullptr) {
    if (metrics_)
        engineio::detail::set_metrics(engine_, metrics_);
}

std::shared_ptr<namespace_impl> server_state::of(std::string_view raw, bool recovery) {
    std::string name(raw);
    if (name.empty() || name.front() != '/')
        name.insert(name.begin(), '/');
    std::lock_guard lock(mutex_);
    auto& slot = namespaces_[name];
    if (slot && !recovery && slot->recovers_)
        throw std::logic_error("sio::server::of_without_recovery(\"" + name +
                               "\"): the namespace exists already, with connection state recovery; call it "
                               "before the first of(\"" +
                               name + "\")");
    if (!slot) {
        slot = engineio::detail::abandonable::make<namespace_impl>(shared_from_this(), name, nullptr, false,
                                                                   recovery);
        slot->adapter().init();
        notify_namespace(slot);
    }
    return slot;
}

std::shared_ptr<namespace_impl>
server_state::add_parent(std::function<bool(std::string_view, const boost::json::object&)> matcher) {
    static std::atomic<unsigned> counter{0};
    auto parent = engineio::detail::abandonable::make<namespace_impl>(
        shared_from_this(), "/_" + std::to_string(counter++), nullptr, true);
    parent->matcher_ = std::move(matcher);
    parent->adapter().init();
    std::lock_guard lock(mutex_);
    parents_.push_back(parent);
    return parent;
}

std::shared_ptr<namespace_impl> server_state::lookup(const std::string& name,
                                                     const boost::json::object& auth) {
    std::vector<std::shared_ptr<namespace_impl>> parents;
    {
        std::lock_guard lock(mutex_);
        if (auto it = namespaces_.find(name); it != namespaces_.end())
            return it->second;
        parents = parents_;
    }
    for (auto& parent : parents) {
        bool match = false;
        try {
            match = parent->matcher_(name, auth);
        } catch (...) {
        }
        if (!match)
            continue;
        std::lock_guard lock(mutex_);
        auto& slot = namespaces_[name];
        if (!slot) {
            slot = engineio::detail::abandonable::make<namespace_impl>(shared_from_this(), name, parent);
            slot->adapter().init();
            parent->add_child(slot);
            notify_namespace(slot);
        }
        return slot;
    }
    return nullptr;
}

void server_state::remove_child_if_empty(const std::shared_ptr<namespace_impl>& nsp) {
    if (!options_.cleanup_empty_child_namespaces || !nsp->parent_ || !nsp->empty())
        return;
    {
        std::lock_guard lock(mutex_);
        if (auto it = namespaces_.find(nsp->name_); it != namespaces_.end() && it->second == nsp)
            namespaces_.erase(it);
    }
    nsp->parent_->remove_child(nsp);
    nsp->adapter().close(); // stop talking to the other servers for it
}

std::vector<std::shared_ptr<namespace_impl>> server_state::namespaces() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<namespace_impl>> out;
    for (const auto& [name, n] : namespaces_)
        out.push_back(n);
    return out;
}

void server_state::close(std::chrono::milliseconds deadline, std::function<void()> done) {
    const bool first = !closed_.exchange(true);
    if (first) { // every socket learns "server shutting down" first; the engine flushes after that
        SIO_LOG(server, debug, "closing server");
        for (const auto& o : observers_)
            o->on_server_close();
        for (auto& n : namespaces())
            for (auto& s : n->select({}))
                net::dispatch(s.executor(),
                              [s = access::state(s)] { s->close(disconnect_reason::server_shutting_down); });
    }
    std::function<void()> close_engine = [self = shared_from_this(), deadline, first,
                                          done = std::move(done)] {
        engineio::detail::close_gracefully(self->engine_, deadline, [self, first, done] {
            if (first)
                self->finish_close();
            if (done)
                done();
        });
    };
    // A graceful close writes what is queued: what a large broadcast's slices still hold is queued first.
    if (deadline.count() > 0 && defer_after_fanout(executor_, close_engine))
        return;
    close_engine();
}

void server_state::finish_close() {
    for (auto& n : namespaces())
        n->adapter().close();
    // Handlers often capture namespace handles: drop them so that nothing keeps the server alive.
    std::vector<std::shared_ptr<namespace_impl>> all = namespaces();
    {
        std::lock_guard lock(mutex_);
        all.insert(all.end(), parents_.begin(), parents_.end());
        namespaces_.clear();
        parents_.clear();
    }
    for (auto& n : all)
        n->clear_handlers();
}

} // namespace sio::detail
