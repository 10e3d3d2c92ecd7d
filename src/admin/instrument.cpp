// sio::admin::instrument: the admin namespace (authentication, commands), the watching of every namespace
// (socket, room and event notifications in development mode) and the statistics timer.
#include <sio/adapter/memory.hpp>
#include <sio/admin.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <atomic>
#include <stdexcept>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>

#include "../log.hpp"
#include "../socketio/server_state.hpp"
#include "payloads.hpp"
#include "ui_bundle.hpp"
#include <openssl/crypto.h>
#include <unistd.h>

namespace sio::admin {

namespace net = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string_view transport_name(engineio::transport_kind t) noexcept {
    return t == engineio::transport_kind::websocket ? "websocket" : "polling";
}

std::string now_iso() {
    return detail::iso_date(std::chrono::system_clock::now());
}

bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// Password checks waiting or running at most (more are refused at once: bcrypt is slow by design).
constexpr int max_pending_verifications = 8;
constexpr std::size_t max_password_size = 1024;

} // namespace

struct instrumentation::state : server_observer, std::enable_shared_from_this<instrumentation::state> {
    state(server& io, options o)
        : io_(io), opts_(std::move(o)),
          server_id_(opts_.server_id.empty() ? detail::default_server_id() : opts_.server_id),
          hostname_(detail::host_name()), started_(std::chrono::steady_clock::now()),
          features_(detail::supported_features(opts_.readonly, opts_.mode)) {}

    ~state() override {
        if (verifier_)
            verifier_->join();
    }

    server& io_;
    const options opts_;
    const std::string server_id_;
    const std::string hostname_;
    const std::chrono::steady_clock::time_point started_;
    const json::array features_;
    std::shared_ptr<net::steady_timer> timer_;
    std::atomic<bool> stopped_{false};

    namespace_ admin_{nullptr};
    bool clustered_ = false; // the admin namespace's adapter reaches other servers: always report
    detail::aggregated_events aggregated_;

    /// What the listeners on every socket and room read first. They hold it by a shared_ptr of their own
    /// (taken once, when they are registered), so that with no admin around a listener costs one relaxed
    /// load: no `weak_ptr::lock` (a locked increment of a count every thread shares) and no lock.
    struct gate {
        /// Admin sockets connected to this server, plus one for good when `clustered_`.
        std::atomic<int> watchers{0};
        /// Sockets in `watched_outgoing_` (changed under `mutex_`).
        std::atomic<std::size_t> watched{0};
        bool open() const noexcept { return watchers.load(std::memory_order_relaxed) > 0; }
    };
    const std::shared_ptr<gate> gate_ = std::make_shared<gate>();

    std::atomic<int> admins_{0}; // admin sockets connected to this server
    std::mutex mutex_;
    std::vector<namespace_> namespaces_;                            // every namespace, admin included
    std::unordered_map<std::string, std::string> pending_sessions_; // admin socket id -> its new session id
    std::unordered_set<std::string> watched_outgoing_;              // "<nsp>\n<id>" of sockets watched

    std::unique_ptr<net::thread_pool> verifier_; // basic auth only: bcrypt off the serving threads
    std::atomic<int> pending_verifications_{0};

    bool development() const noexcept { return opts_.mode == mode::development; }
    /// Worth building a notification: an admin socket may hear it.
    bool active() const noexcept { return gate_->open(); }

    template <class... Args>
    void notify(std::string_view event, Args&&... args) {
        try {
            admin_.emit(event, std::forward<Args>(args)...);
        } catch (const std::exception& e) {
            SIO_LOG(server, warning, "admin: could not emit ", event, ": ", e.what());
        }
    }

    std::optional<namespace_> find_namespace(std::string_view name) {
        std::lock_guard lock(mutex_);
        for (const auto& n : namespaces_)
            if (n.name() == name)
                return n;
        return std::nullopt;
    }
    std::vector<namespace_> all_namespaces() {
        std::lock_guard lock(mutex_);
        return namespaces_;
    }

    // --- server_observer ------------------------------------------------------------------------------
    void on_namespace(const namespace_& nsp) override {
        {
            std::lock_guard lock(mutex_);
            for (const auto& n : namespaces_)
                if (n == nsp)
                    return;
            std::erase_if(namespaces_, [&](const namespace_& n) { return n.name() == nsp.name(); });
            namespaces_.push_back(nsp);
        }
        if (!development())
            return;
        std::weak_ptr<state> weak = weak_from_this();
        std::shared_ptr<const gate> g = gate_;
        std::string name = nsp.name();
        nsp.adapter().on_join_room([weak, g, name](const std::string& room, const std::string& sid) {
            if (!g->open())
                return;
            if (auto st = weak.lock())
                st->notify("room_joined", name, room, sid, now_iso());
        });
        nsp.adapter().on_leave_room([weak, g, name](const std::string& room, const std::string& sid) {
            if (!g->open())
                return;
            if (auto st = weak.lock())
                st->notify("room_left", name, room, sid, now_iso());
        });
    }

    void on_socket(const socket& s) override {
        auto conn = s.conn();
        auto& data = s.data();
        if (data.is_null())
            data.emplace_object();
        if (auto* o = data.if_object())
            (*o)["_admin"] = detail::admin_field(conn.id(), transport_name(conn.transport()));
        if (!development())
            return;
        if (active())
            notify("socket_connected", serialize_local(s), now_iso());
        std::weak_ptr<state> weak = weak_from_this();
        std::shared_ptr<const gate> g = gate_;
        s.on_disconnect([weak, g](socket s, disconnect_reason reason) {
            const bool open = g->open();
            if (!open && g->watched.load(std::memory_order_relaxed) == 0)
                return; // no admin, and no socket has an outgoing listener to forget
            auto st = weak.lock();
            if (!st)
                return;
            st->forget_watched(s);
            if (open)
                st->notify("socket_disconnected", s.nsp(), s.id(), std::string(to_string(reason)), now_iso());
        });
        if (s.nsp() == opts_.namespace_name)
            return; // the UI's own traffic is not reported
        s.on_any([weak, g](socket s, const event& ev) {
            if (!g->open())
                return;
            if (auto st = weak.lock())
                st->notify_event("event_received", s, ev.name, ev.args);
        });
        if (active())
            watch_outgoing(s);
    }

    void on_upgrade(const socket& s) override {
        auto& data = s.data(); // the transport other servers read in fetch_sockets
        if (auto* o = data.if_object())
            if (auto* admin = o->if_contains("_admin"); admin && admin->is_object())
                admin->as_object()["transport"] = "websocket";
        if (development() && active()) {
            json::object update{{"id", s.id()}, {"nsp", s.nsp()}, {"transport", "websocket"}};
            notify("socket_updated", std::move(update));
        }
    }
    void on_session_open(const engineio::session&) override { aggregated_.add("rawConnection"); }
    void on_session_close(const engineio::session&, engineio::close_reason reason) override {
        aggregated_.add("rawDisconnection", engineio::to_string(reason));
    }
    void on_server_close() override {
        stop();
        opts_.store->close();
    }

    // --- notifications --------------------------------------------------------------------------------
    json::object serialize_local(const socket& s) const {
        socket_details d{s.id(), s.handshake(), s.rooms(), s.data()};
        return detail::serialize_socket(d, s.nsp(), transport_name(s.conn().transport()));
    }

    void notify_event(std::string_view kind, const socket& s, std::string_view name, const arguments& args) {
        arguments out;
        json::array event;
        event.reserve(args.values.size() + 1);
        event.emplace_back(name);
        for (const auto& v : args.values)
            event.push_back(v);
        out.values =
            json::array{json::value(s.nsp()), json::value(s.id()), std::move(event), json::value(now_iso())};
        out.attachments = args.attachments;
        try {
            admin_.except(std::vector<std::string>{}).emit_arguments(kind, std::move(out));
        } catch (const std::exception& e) {
            SIO_LOG(server, warning, "admin: could not emit ", kind, ": ", e.what());
        }
    }

    /// On the socket's strand: reports what is sent to it from now on (once per socket). Outgoing
    /// listeners make every delivery to the socket do more work, so a socket gets one only while some
    /// admin is connected (or when it connects after that).
    void watch_outgoing(const socket& s) {
        {
            std::lock_guard lock(mutex_);
            if (!s.connected() || !watched_outgoing_.insert(s.nsp() + "\n" + s.id()).second)
                return;
            gate_->watched.store(watched_outgoing_.size(), std::memory_order_relaxed);
        }
        std::weak_ptr<state> weak = weak_from_this();
        std::shared_ptr<const gate> g = gate_;
        s.on_any_outgoing([weak, g](socket s, std::string_view name, const arguments& args) {
            if (!g->open())
                return;
            if (auto st = weak.lock())
                st->notify_event("event_sent", s, name, args);
        });
    }

    void forget_watched(const socket& s) {
        std::lock_guard lock(mutex_);
        if (watched_outgoing_.erase(s.nsp() + "\n" + s.id()) != 0)
            gate_->watched.store(watched_outgoing_.size(), std::memory_order_relaxed);
    }

    void watch_every_socket() {
        for (const auto& n : all_namespaces()) {
            if (n.name() == opts_.namespace_name)
                continue;
            for (auto& s : n.sockets())
                net::dispatch(s.executor(), [weak = weak_from_this(), s] {
                    if (auto st = weak.lock())
                        st->watch_outgoing(s);
                });
        }
    }

    // --- statistics -----------------------------------------------------------------------------------
    /// The message and byte counts of the server's metrics (docs/metrics.md) since the last stats, as the
    /// aggregated events packetsIn/Out and bytesIn/Out. Nothing when the server's metrics are off.
    std::array<double, 4> last_traffic_{}; // stats loop only
    void add_traffic() {
        const auto m = io_.metrics();
        if (m.families.empty())
            return;
        static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> sources{{
            {"packetsIn", "sio_engine_messages_received_total"},
            {"packetsOut", "sio_engine_messages_sent_total"},
            {"bytesIn", "sio_engine_received_bytes_total"},
            {"bytesOut", "sio_engine_sent_bytes_total"},
        }};
        for (std::size_t i = 0; i < sources.size(); ++i) {
            const double now = m.value(sources[i].second);
            if (now > last_traffic_[i])
                aggregated_.add(sources[i].first, {}, static_cast<std::uint64_t>(now - last_traffic_[i]));
            last_traffic_[i] = now;
        }
    }

    void emit_stats() {
        add_traffic();
        if (!active()) { // nobody to tell: no socket list copied; the last seconds kept for the next admin
            aggregated_.forget_before(std::chrono::system_clock::now() - 4s);
            return;
        }
        std::vector<detail::namespace_count> counts;
        std::unordered_set<std::string> polling;
        for (const auto& n : all_namespaces()) {
            auto sockets = n.sockets();
            counts.push_back({n.name(), sockets.size()});
            for (const auto& s : sockets)
                if (auto c = s.conn(); c.transport() == engineio::transport_kind::polling)
                    polling.insert(c.id());
        }
        const double uptime =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        notify("server_stats", detail::server_stats(
                                   server_id_, hostname_, static_cast<std::int64_t>(getpid()), uptime,
                                   io_.engine().clients_count(), polling.size(), aggregated_.take(), counts));
    }

    static net::awaitable<void> stats_loop(std::weak_ptr<state> weak,
                                           std::shared_ptr<net::steady_timer> timer) {
        for (;;) {
            {
                auto st = weak.lock();
                if (!st || st->stopped_.load())
                    co_return;
                st->emit_stats();
            }
            timer->expires_after(2s);
            if (auto st = weak.lock(); !st || st->stopped_.load())
                co_return;
            auto [ec] = co_await timer->async_wait(net::as_tuple(net::use_awaitable));
            if (ec)
                co_return;
        }
    }

    void stop() {
        if (stopped_.exchange(true) || !timer_)
            return;
        net::post(timer_->get_executor(), [t = timer_] { t->cancel(); });
    }

    // --- the admin namespace --------------------------------------------------------------------------
    net::awaitable<bool> verify(std::string password) {
        if (pending_verifications_.fetch_add(1) >= max_pending_verifications) {
            pending_verifications_.fetch_sub(1);
            co_return false;
        }
        struct release {
            std::atomic<int>& n;
            ~release() { n.fetch_sub(1); }
        } guard{pending_verifications_};
        co_return co_await net::co_spawn(verifier_->get_executor(),
                                         check_password(std::move(password), opts_.auth->password_hash),
                                         net::use_awaitable);
    }

    static net::awaitable<bool> check_password(std::string password, std::string hash) {
        co_return bcrypt_verify(password, hash);
    }

    static net::awaitable<std::optional<middleware_error>> authenticate(std::weak_ptr<state> weak, socket s) {
        const middleware_error refused{"invalid credentials", nullptr};
        auto st = weak.lock();
        if (!st)
            co_return refused;
        const auto& auth = s.handshake().auth;
        if (const auto* id = auth.if_contains("sessionId");
            id && id->is_string() && detail::is_session_id(id->get_string())) {
            if (co_await st->opts_.store->exists(std::string(id->get_string())))
                co_return std::nullopt;
        }
        const auto* user = auth.if_contains("username");
        const auto* password = auth.if_contains("password");
        if (!user || !password || !user->is_string() || !password->is_string() ||
            password->get_string().size() > max_password_size ||
            !equal_constant_time(user->get_string(), st->opts_.auth->username))
            co_return refused;
        if (!co_await st->verify(std::string(password->get_string())))
            co_return refused;
        auto session_id = detail::new_session_id();
        st->opts_.store->save(session_id);
        {
            std::lock_guard lock(st->mutex_);
            st->pending_sessions_[s.id()] = std::move(session_id);
        }
        co_return std::nullopt;
    }

    void on_admin_connection(const socket& s) {
        gate_->watchers.fetch_add(1, std::memory_order_relaxed); // before the listeners it opens
        if (admins_.fetch_add(1) == 0 && development())
            watch_every_socket();
        std::weak_ptr<state> weak = weak_from_this();
        s.on_disconnect([weak](socket s, disconnect_reason) {
            if (auto st = weak.lock()) {
                st->admins_.fetch_sub(1);
                st->gate_->watchers.fetch_sub(1, std::memory_order_relaxed);
                std::lock_guard lock(st->mutex_);
                st->pending_sessions_.erase(s.id());
            }
        });
        std::optional<std::string> session_id;
        {
            std::lock_guard lock(mutex_);
            if (auto it = pending_sessions_.find(s.id()); it != pending_sessions_.end()) {
                session_id = std::move(it->second);
                pending_sessions_.erase(it);
            }
        }
        if (session_id) // after the CONNECT answer, so that the UI's connect handler is there to read it
            s.emit("session", *session_id);
        if (!opts_.readonly)
            register_commands(s);
        s.emit("config", json::object{{"supportedFeatures", features_}});
        if (development())
            net::co_spawn(s.executor(), send_all_sockets(weak, s), net::detached);
    }

    /// `all_sockets`: every namespace's sockets, fetched at the same time, so that a server that does not
    /// answer delays the list by one request timeout (not one per namespace) and only misses from it.
    static net::awaitable<void> send_all_sockets(std::weak_ptr<state> weak, socket s) {
        std::vector<namespace_> namespaces;
        if (auto st = weak.lock())
            namespaces = st->all_namespaces();
        if (namespaces.empty())
            co_return;
        using fetch_op =
            decltype(net::co_spawn(s.executor(), namespaces.front().fetch_sockets(), net::deferred));
        std::vector<fetch_op> fetches;
        fetches.reserve(namespaces.size());
        for (const auto& n : namespaces)
            fetches.push_back(net::co_spawn(s.executor(), n.fetch_sockets(), net::deferred));
        auto [order, errors, results] =
            co_await net::experimental::make_parallel_group(std::move(fetches))
                .async_wait(net::experimental::wait_for_all(), net::use_awaitable);
        json::array all;
        for (std::size_t i = 0; i < namespaces.size(); ++i) {
            if (errors[i])
                continue;
            for (const auto& rs : results[i]) {
                socket_details d{rs.id(), rs.handshake(), rs.rooms(), rs.data()};
                std::optional<std::string_view> transport;
                if (rs.local())
                    transport = transport_name(rs.local().conn().transport());
                all.push_back(detail::serialize_socket(d, namespaces[i].name(), transport));
            }
        }
        if (s.connected())
            s.emit("all_sockets", std::move(all));
    }

    /// The namespace and the sockets a command names: (nsp, x, filter) at `nsp_at`, `filter_at`.
    std::optional<broadcast_operator> target(const event& ev, std::size_t filter_at) {
        const auto& v = ev.args.values;
        if (v.empty() || !v[0].is_string() || v[0].get_string().size() > detail::max_name_size)
            return std::nullopt;
        auto nsp = find_namespace(v[0].get_string()); // never creates one
        if (!nsp)
            return std::nullopt;
        auto filter = detail::parse_filter(filter_at < v.size() ? &v[filter_at] : nullptr);
        if (!filter)
            return std::nullopt;
        return nsp->in(*filter);
    }

    void register_commands(const socket& s) {
        std::weak_ptr<state> weak = weak_from_this();
        auto refuse = [](const socket& s, const event& ev) {
            SIO_LOG(server, debug, "admin: refused command ", ev.name, " from ", s.id());
        };
        s.on("join", [weak, refuse](socket s, event ev) -> net::awaitable<void> {
            auto st = weak.lock();
            auto op = st ? st->target(ev, 2) : std::nullopt;
            auto rooms = ev.args.size() > 1 ? detail::parse_rooms(ev.args.values[1]) : std::nullopt;
            if (!op || !rooms) {
                refuse(s, ev);
                co_return;
            }
            st.reset();
            co_await op->sockets_join(std::move(*rooms));
        });
        s.on("leave", [weak, refuse](socket s, event ev) -> net::awaitable<void> {
            auto st = weak.lock();
            auto op = st ? st->target(ev, 2) : std::nullopt;
            auto rooms = ev.args.size() > 1 ? detail::parse_rooms(ev.args.values[1]) : std::nullopt;
            if (!op || !rooms) {
                refuse(s, ev);
                co_return;
            }
            st.reset();
            co_await op->sockets_leave(std::move(*rooms));
        });
        s.on("_disconnect", [weak, refuse](socket s, event ev) -> net::awaitable<void> {
            auto st = weak.lock();
            auto op = st ? st->target(ev, 2) : std::nullopt;
            if (!op || ev.args.size() < 2 || !ev.args.values[1].is_bool()) {
                refuse(s, ev);
                co_return;
            }
            const bool close = ev.args.values[1].get_bool();
            st.reset();
            co_await op->disconnect_sockets(close);
        });
        s.on("emit", [weak, refuse](socket s, event& ev) {
            auto st = weak.lock();
            auto op = st ? st->target(ev, 1) : std::nullopt;
            const auto& v = ev.args.values;
            if (!op || v.size() < 3 || !v[2].is_string() || v[2].get_string().empty() ||
                v[2].get_string().size() > detail::max_name_size) {
                refuse(s, ev);
                return;
            }
            arguments args;
            args.values = json::array(v.begin() + 3, v.end());
            args.attachments = ev.args.attachments;
            try {
                op->emit_arguments(v[2].get_string(), std::move(args));
            } catch (const std::exception&) { // a reserved event name
                refuse(s, ev);
            }
        });
    }
};

instrumentation instrument(server& io, options opts) {
    if (opts.namespace_name.empty() || opts.namespace_name.front() != '/')
        throw std::invalid_argument("sio::admin::instrument: namespace_name must start with '/'");
    if (!opts.auth && !opts.auth_disabled)
        throw std::invalid_argument("sio::admin::instrument: set options.auth (basic authentication) or, to "
                                    "let anyone who reaches the namespace in, options.auth_disabled = true");
    if (opts.auth && opts.auth_disabled)
        throw std::invalid_argument(
            "sio::admin::instrument: options.auth and options.auth_disabled are both set");
    if (opts.auth && !is_bcrypt_hash(opts.auth->password_hash))
        throw std::invalid_argument(
            "sio::admin::instrument: options.auth->password_hash must be a bcrypt hash "
            "($2a$, $2b$ or $2y$, cost 04-31, 60 characters), not a plain password");
    if (opts.auth && !detail::bcrypt_hash_usable(opts.auth->password_hash))
        throw std::invalid_argument(
            "sio::admin::instrument: options.auth->password_hash cannot match any password on this system "
            "(crypt_r refuses its scheme or changes its salt): make a new hash");
    if (opts.auth && opts.auth->username.empty())
        throw std::invalid_argument("sio::admin::instrument: options.auth->username is empty");
    if (!opts.store)
        opts.store = make_memory_store();
    if (!opts.ui_path.empty()) {
        if (opts.ui_path.front() != '/')
            throw std::invalid_argument("sio::admin::instrument: ui_path must start with '/'");
        if (opts.ui_path.back() != '/')
            opts.ui_path += '/';
        if (io.engine().handles(opts.ui_path))
            throw std::invalid_argument(
                "sio::admin::instrument: ui_path is under the server's Engine.IO path");
        sio::detail::add_static_route(io, [path = opts.ui_path](const engineio::detail::static_request& req) {
            return detail::serve_admin_ui(path, req);
        });
    }

    auto st = std::make_shared<instrumentation::state>(io, std::move(opts));
    if (st->opts_.auth)
        st->verifier_ = std::make_unique<net::thread_pool>(1);
    io.observe(st); // every namespace from now on, the admin namespace included
    // Its notifications describe the present: nothing to replay to a UI that reconnects.
    st->admin_ = io.of_without_recovery(st->opts_.namespace_name);
    st->clustered_ = typeid(st->admin_.adapter()) != typeid(memory_adapter);
    if (st->clustered_)
        st->gate_->watchers.fetch_add(1, std::memory_order_relaxed);
    st->timer_ =
        std::make_shared<net::steady_timer>(net::make_strand(st->admin_.adapter().host().executor()));
    std::weak_ptr<instrumentation::state> weak = st;
    if (st->opts_.auth)
        st->admin_.use([weak](socket s) { return instrumentation::state::authenticate(weak, std::move(s)); });
    st->admin_.on_connection([weak](socket s) {
        if (auto st = weak.lock())
            st->on_admin_connection(s);
    });
    net::co_spawn(st->timer_->get_executor(), instrumentation::state::stats_loop(st, st->timer_),
                  net::detached);
    return instrumentation(std::move(st));
}

instrumentation& instrumentation::operator=(instrumentation&& other) noexcept {
    if (this != &other) {
        stop();
        state_ = std::move(other.state_);
    }
    return *this;
}

instrumentation::~instrumentation() {
    stop();
}

const std::string& instrumentation::server_id() const noexcept {
    static const std::string none;
    return state_ ? state_->server_id_ : none;
}

void instrumentation::stop() {
    if (state_)
        state_->stop();
}

} // namespace sio::admin
