// The memory adapter's part of connection state recovery: the namespace's replay buffer and saved sessions
// (a recovery_store behind a lock), and the timer that expires them.
#include <sio/adapter/memory.hpp>
#include <sio/socket_sink.hpp>

#include <boost/asio/steady_timer.hpp>

#include <mutex>
#include <unordered_map>

#include "../log.hpp"
#include "recovery_store.hpp"

namespace sio {

namespace net = boost::asio;
using detail::recovery_store;

struct memory_adapter::recovery : std::enable_shared_from_this<memory_adapter::recovery> {
    recovery(connection_state_recovery_options options, net::any_io_executor ex, std::string nsp_name)
        : store(std::move(options)), timer(std::move(ex)), nsp(std::move(nsp_name)) {}

    /// Covers the store, and each kept broadcast from its store to its delivery, so that every socket gets
    /// the kept packets in offset order and a recovered socket joins between two of them. Recursive: an
    /// `on_any_outgoing` listener run inline by a delivery may broadcast again.
    std::recursive_mutex mutex;
    recovery_store store;
    /// The store's next sequence when each connected socket joined: nothing before it is owed to it.
    std::unordered_map<std::string, std::uint64_t> first_seq;
    net::steady_timer timer; // the next session expiry; touched under `mutex` only
    std::optional<recovery_store::clock::time_point> armed_for;
    bool closed = false;
    const std::string nsp;

    /// Under the lock: the timer waits for the earliest saved session's expiry.
    void arm() {
        if (closed)
            return;
        const auto next = store.next_expiry();
        if (!next || (armed_for && *armed_for <= *next))
            return;
        armed_for = next;
        timer.expires_at(*next);
        timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            if (ec)
                return;
            if (auto self = weak.lock())
                self->on_timer();
        });
    }

    void on_timer() {
        std::vector<recovery_session> expired;
        {
            std::lock_guard lock(mutex);
            armed_for.reset();
            expired = store.expire(recovery_store::clock::now());
            arm();
        }
        const auto& hook = store.options().on_session_expired; // set once, never changed
        for (const auto& s : expired) {
            SIO_LOG(adapter, debug, "recovery session of socket ", s.sid, " on ", nsp, " expired");
            if (!hook)
                continue;
            try {
                hook(nsp, s);
            } catch (...) { // an application hook must not stop the expiry of the others
                SIO_LOG(adapter, warning, "an on_session_expired hook threw");
            }
        }
    }
};

bool memory_adapter::enable_recovery(const connection_state_recovery_options& options) {
    recovery_ = std::make_shared<recovery>(options, host().executor(), host().name());
    return true;
}

bool memory_adapter::store_and_deliver(protocol::packet& packet, const broadcast_flags& flags) {
    if (!recovery_store::keeps(packet, flags))
        return false;
    packet.nsp = host().name();
    // One step from the offset to the queues: another broadcast cannot reach a socket in between (it would
    // arrive before a lower offset), nor can a recovered socket join in between.
    std::unique_lock lock(recovery_->mutex, std::try_to_lock);
    if (!lock.owns_lock()) {
        if (auto* hook = detail::recovery_hooks.contended)
            hook();
        lock.lock();
    }
    const auto encoded = recovery_->store.store(packet, flags, recovery_store::clock::now(), &host().codec());
    if (auto* hook = detail::recovery_hooks.after_store)
        hook();
    const auto targets = local_sinks(flags);
    SIO_LOG(adapter, debug, "broadcast on ", packet.nsp, " to ", targets.size(), " sockets (kept)");
    deliver(packet, host().codec(), encoded, targets, flags.volatile_,
            flags.compress); // the one encoding, offset included
    return true;
}

void memory_adapter::recovery_socket_added(const std::string& id) {
    std::lock_guard lock(recovery_->mutex);
    recovery_->first_seq[id] = recovery_->store.next_sequence();
}

void memory_adapter::recovery_socket_removed(const std::string& id) {
    std::lock_guard lock(recovery_->mutex);
    recovery_->first_seq.erase(id);
}

void memory_adapter::persist_session(recovery_session session) {
    if (!recovery_)
        return;
    std::lock_guard lock(recovery_->mutex);
    const auto it = recovery_->first_seq.find(session.sid);
    const std::uint64_t first =
        it != recovery_->first_seq.end() ? it->second : recovery_->store.next_sequence();
    SIO_LOG(adapter, debug, "saving the recovery session of socket ", session.sid, " on ", host().name());
    recovery_->store.persist(std::move(session), first, recovery_store::clock::now());
    recovery_->arm();
}

net::awaitable<std::optional<restored_session>>
memory_adapter::restore_session(std::string pid, std::optional<std::string> offset) {
    if (!recovery_)
        co_return std::nullopt;
    std::optional<restored_session> out;
    recovery_store::failure why{};
    {
        std::lock_guard lock(recovery_->mutex);
        out = recovery_->store.restore(pid, offset, recovery_store::clock::now(), &why);
    }
    if (!out)
        SIO_LOG(adapter, debug, "no recovery on ", host().name(), " (", static_cast<int>(why), ")");
    co_return out;
}

bool memory_adapter::add_recovered_socket(const socket& s, restored_session& restored,
                                          const std::function<bool()>& write) {
    if (!recovery_)
        return adapter::add_recovered_socket(s, restored, write);
    std::function<void()> report_room_events;
    {
        std::lock_guard lock(recovery_->mutex);
        if (!recovery_->store.complete(restored, recovery_store::clock::now())) {
            SIO_LOG(adapter, debug, "recovery of socket ", s.id(), " on ", host().name(),
                    " no longer possible at admission");
            return false;
        }
        if (!write()) { // the connection did not take the replay: the session stays for another attempt
            SIO_LOG(adapter, debug, "recovery of socket ", s.id(), " on ", host().name(),
                    " not written (the connection's queue is full); its session is kept");
            return false;
        }
        recovery_->store.consume(restored);
        recovery_->first_seq[s.id()] = recovery_->store.next_sequence();
        report_room_events = add_sink_in_rooms(socket_sink::of(s), restored.session.rooms);
    }
    if (report_room_events) // application handlers: no lock held
        report_room_events();
    return true;
}

void memory_adapter::close() {
    if (!recovery_)
        return;
    // The saved sessions stay until the adapter goes, but no timer keeps the executor busy any longer.
    std::lock_guard lock(recovery_->mutex);
    recovery_->closed = true;
    recovery_->timer.cancel();
}

} // namespace sio
