// The sliced fan-out of large broadcasts (see fanout_queue.hpp).
#include "fanout_queue.hpp"

#include <boost/asio/execution_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

#include "../engineio/strand.hpp"
#include "../log.hpp"
#include "../metrics/registry.hpp"
#include "namespace_state.hpp"
#include "socket_state.hpp"

namespace sio::detail {

namespace net = boost::asio;

namespace {

/// The io_contexts whose queue holds jobs: while none does, a broadcast looks no service up.
std::atomic<int> busy_queues{0};

thread_local bool slice_running = false;
thread_local std::size_t deferred_recipient_count = 0; // deferred_recipients()

/// One packet of a group.
struct fanout_packet {
    protocol::packet packet; // for the outgoing listeners and for a sink with another codec
    const protocol::packet_codec* codec = nullptr;
    protocol::encoded_packet encoded;
    bool volatile_ = false;
    bool compress = false;
    bool single = false; // sent by the socket itself (emit, ack): no listeners to tell
};

/// Packets for the same recipients, delivered recipient by recipient; or, without recipients, an action
/// that waits for everything before it (`defer_after_fanout`).
struct fanout_group {
    std::vector<std::shared_ptr<socket_sink>> sinks;
    std::vector<fanout_packet> packets; // appended only while `next` is 0
    std::size_t next = 0;               // the first recipient not yet served
    std::function<void()> action;
};

bool same_sinks(const std::vector<std::shared_ptr<socket_sink>>& a,
                std::span<const std::shared_ptr<socket_sink>> b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i])
            return false;
    return true;
}

/// The count of deferred packets of a socket of the library; null for another sink (a test's fake).
std::atomic<std::uint32_t>* deferred_packets(socket_sink& s) noexcept {
    if (typeid(s) == typeid(socket_impl))
        return &static_cast<socket_impl&>(s).deferred_packets_;
    return nullptr;
}

/// The metrics registry of a socket of the library (null: metrics off, or another sink).
metrics_detail::registry* metrics_of(socket_sink& s) noexcept {
    if (typeid(s) == typeid(socket_impl))
        return static_cast<socket_impl&>(s).nsp_->metrics_.get();
    return nullptr;
}

void count_deferred(std::span<const std::shared_ptr<socket_sink>> sinks) noexcept {
    for (const auto& s : sinks)
        if (auto* c = deferred_packets(*s))
            c->fetch_add(1, std::memory_order_relaxed);
}

/// A packet of a group encoded with another codec than its own (index of the packet, codec, encoding).
using other_encodings =
    std::vector<std::tuple<std::size_t, const protocol::packet_codec*, protocol::encoded_packet>>;

/// Marks the calling thread as working through a slice, for its lifetime.
struct slice_scope {
    slice_scope() noexcept { slice_running = true; }
    ~slice_scope() { slice_running = false; }
    slice_scope(const slice_scope&) = delete;
    slice_scope& operator=(const slice_scope&) = delete;
};

/// Delivers every packet of `g` to recipient `sink`, then uncounts them (even when a send throws: the
/// socket's later sends must not wait behind packets that will never be served).
void serve(socket_sink& sink, fanout_group& g, std::vector<std::shared_ptr<const outgoing_event>>& outgoing,
           other_encodings& others) {
    struct uncount {
        socket_sink& sink;
        std::size_t n;
        ~uncount() {
            if (auto* c = deferred_packets(sink))
                c->fetch_sub(static_cast<std::uint32_t>(n), std::memory_order_release);
        }
    } const uncount_on_exit{sink, g.packets.size()};
    for (std::size_t k = 0; k < g.packets.size(); ++k) {
        auto& p = g.packets[k];
        if (!p.single && sink.has_outgoing_listeners()) {
            if (outgoing.size() <= k)
                outgoing.resize(g.packets.size());
            if (!outgoing[k])
                outgoing[k] = outgoing_event::of(p.packet);
            sink.notify_outgoing(outgoing[k]);
        }
        const protocol::packet_codec& c = sink.codec();
        const protocol::encoded_packet* e = &p.encoded;
        if (!p.single && &c != p.codec) {
            e = nullptr;
            for (const auto& [index, known, enc] : others)
                if (index == k && known == &c)
                    e = &enc;
            if (!e)
                e = &std::get<2>(others.emplace_back(k, &c, c.encode(p.packet)));
        }
        (void)sink.send_encoded(*e, p.volatile_, p.compress);
    }
}

} // namespace

/// The fan-out queue of one io_context.
class fanout_service final : public net::execution_context::service {
public:
    using key_type = fanout_service;
    static inline net::execution_context::id id;

    explicit fanout_service(net::execution_context& ctx) : service(ctx) {}

    static fanout_service& of(const net::any_io_executor& ex) {
        return net::use_service<fanout_service>(net::query(ex, net::execution::context));
    }

    /// Appends `p` for `sinks`; false (nothing done) when the queue is idle and `sinks` are few.
    bool enqueue(fanout_packet&& p, std::span<const std::shared_ptr<socket_sink>> sinks,
                 const net::any_io_executor& ex, bool force) {
        const std::lock_guard lock(mutex_);
        if (!force && !busy_ && sinks.size() < fanout_min_recipients)
            return false;
        if (groups_.empty() || groups_.back().next != 0 || !same_sinks(groups_.back().sinks, sinks)) {
            auto& g = groups_.emplace_back();
            g.sinks.assign(sinks.begin(), sinks.end());
        }
        groups_.back().packets.push_back(std::move(p));
        count_deferred(sinks);
        if (!busy_) {
            busy_ = true;
            busy_queues.fetch_add(1, std::memory_order_acq_rel);
            executor_ = ex;
            if (const auto* s = ex.target<engineio::detail::io_strand>()) // not a socket's strand
                executor_ = s->get_inner_executor();
            else if (const auto* a = ex.target<engineio::detail::any_strand>()) // the server's own executor
                executor_ = a->get_inner_executor();
            post_slice();
        }
        return true;
    }

    /// Appends `action` behind every group; false (nothing done) when the queue is idle.
    bool enqueue_action(std::function<void()>& action) {
        const std::lock_guard lock(mutex_);
        if (!busy_)
            return false;
        groups_.emplace_back().action = std::move(action);
        return true;
    }

    void shutdown() override {
        std::deque<fanout_group> dropped;
        {
            const std::lock_guard lock(mutex_);
            dropped.swap(groups_);
            if (std::exchange(busy_, false))
                busy_queues.fetch_sub(1, std::memory_order_acq_rel);
        }
    }

private:
    void post_slice() {
        net::post(executor_, [this] { run_slice(); });
    }

    /// One slice of the head group; then yields (posts the next) or goes idle.
    void run_slice() {
        fanout_group* g = nullptr;
        std::size_t begin = 0;
        std::size_t end = 0;
        std::function<void()> action;
        {
            const std::lock_guard lock(mutex_);
            if (groups_.empty())
                return;
            if (groups_.front().action) {
                action = std::move(groups_.front().action);
                groups_.pop_front();
            } else {
                g = &groups_.front();
                const std::size_t per = std::max<std::size_t>(1, fanout_slice_deliveries / g->packets.size());
                begin = g->next;
                end = std::min(g->sinks.size(), begin + per);
                g->next = end; // from now on the group takes no more packets
            }
        }
        if (action) {
            try {
                action();
            } catch (const std::exception&
                         e) { // a failed dispatch: the connection then closes by its own teardown
                SIO_LOG(adapter, warning, "a deferred action of the fan-out threw: ", e.what());
            } catch (...) {
                SIO_LOG(adapter, warning, "a deferred action of the fan-out threw");
            }
            next_or_idle();
            return;
        }
        // The group stays at the front (only this handler pops) and its packets no longer change. A send
        // that throws (an allocation, a sink of the application) costs that recipient its packets, never
        // the others nor the queue.
        try {
            std::vector<std::shared_ptr<const outgoing_event>> outgoing;
            other_encodings others;
            const slice_scope in_slice;
            std::optional<metrics_detail::sent_tally> tally; // metrics hook: the slice's packets at once
            if (auto* m = begin < end ? metrics_of(*g->sinks[begin]) : nullptr)
                tally.emplace(*m);
            for (std::size_t i = begin; i < end; ++i) {
                try {
                    serve(*g->sinks[i], *g, outgoing, others);
                } catch (const std::exception& e) {
                    SIO_LOG(adapter, warning, "a broadcast's delivery to socket ", g->sinks[i]->id(),
                            " threw: ", e.what());
                } catch (...) {
                    SIO_LOG(adapter, warning, "a broadcast's delivery to socket ", g->sinks[i]->id(),
                            " threw");
                }
            }
        } catch (...) { // the slice's own allocations: the group still ends below
            SIO_LOG(adapter, warning, "a fan-out slice failed");
        }
        {
            const std::lock_guard lock(mutex_);
            if (end == g->sinks.size())
                groups_.pop_front();
        }
        next_or_idle();
    }

    /// Posts the next slice (after the writes the last one caused), or goes idle.
    void next_or_idle() {
        const std::lock_guard lock(mutex_);
        if (groups_.empty()) {
            busy_ = false;
            busy_queues.fetch_sub(1, std::memory_order_acq_rel);
            return;
        }
        post_slice();
    }

    std::mutex mutex_;
    std::deque<fanout_group> groups_;
    bool busy_ = false;
    net::any_io_executor executor_;
};

bool defer_fanout(const protocol::packet& packet, const protocol::packet_codec& codec,
                  const protocol::encoded_packet& encoded,
                  std::span<const std::shared_ptr<socket_sink>> sinks, bool volatile_, bool compress) {
    if (sinks.empty() || slice_running)
        return false;
    if (sinks.size() < fanout_min_recipients && busy_queues.load(std::memory_order_acquire) == 0)
        return false;
    const auto ex = sinks.front()->executor();
    if (!ex)
        return false;
    fanout_packet p{packet, &codec, encoded, volatile_, compress, false};
    if (!fanout_service::of(ex).enqueue(std::move(p), sinks, ex, false))
        return false;
    deferred_recipient_count += sinks.size();
    return true;
}

void defer_send(std::shared_ptr<socket_sink> sink, protocol::encoded_packet encoded, bool volatile_,
                bool compress) {
    const auto ex = sink->executor();
    fanout_packet p{{}, nullptr, std::move(encoded), volatile_, compress, true};
    const std::shared_ptr<socket_sink> one[] = {std::move(sink)};
    (void)fanout_service::of(ex).enqueue(std::move(p), one, ex, true);
}

bool defer_after_fanout(const net::any_io_executor& ex, std::function<void()>& action) {
    if (!ex || busy_queues.load(std::memory_order_acquire) == 0)
        return false;
    return fanout_service::of(ex).enqueue_action(action);
}

bool in_fanout_slice() noexcept {
    return slice_running;
}

std::size_t deferred_recipients() noexcept {
    return deferred_recipient_count;
}

} // namespace sio::detail
