// A cluster of `sio::server`s in one process for tests: a `sio::cluster_adapter` whose transport is an
// in-process bus. Messages cross a real boundary: each is serialised to JSON text by the sender and parsed
// by the receiver on the receiver's executor. A server can be made deaf (it receives nothing, so it never
// answers) to test timeouts and partial results.
#pragma once

#include <sio/adapter/cluster.hpp>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sio_test {

namespace bus_detail {

namespace json = boost::json;

inline std::string hex(const std::string& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xf]);
    }
    return out;
}
inline std::string unhex(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    return out;
}

inline json::array strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v)
        a.emplace_back(s);
    return a;
}
inline std::vector<std::string> strings(const json::value& v) {
    std::vector<std::string> out;
    for (const auto& s : v.as_array())
        out.emplace_back(s.as_string());
    return out;
}

inline json::value to_json(const sio::arguments& a) {
    json::array attachments;
    for (const auto& b : a.attachments)
        attachments.emplace_back(hex(b));
    return json::object{{"values", a.values}, {"attachments", std::move(attachments)}};
}
inline sio::arguments arguments_of(const json::value& v) {
    sio::arguments a;
    a.values = v.at("values").as_array();
    for (const auto& b : v.at("attachments").as_array())
        a.attachments.push_back(unhex(b.as_string()));
    return a;
}

inline std::string serialise(const sio::cluster_message& m) {
    json::object o;
    o["type"] = static_cast<int>(m.type);
    o["uid"] = m.uid;
    o["request_id"] = m.request_id;
    json::object opts{{"rooms", strings(m.opts.rooms)},
                      {"except", strings(m.opts.except)},
                      {"volatile", m.opts.volatile_},
                      {"compress", m.opts.compress}};
    if (m.opts.timeout)
        opts["timeout"] = m.opts.timeout->count();
    o["opts"] = std::move(opts);
    o["rooms"] = strings(m.rooms);
    o["close"] = m.close;
    o["event"] = m.event;
    o["args"] = to_json(m.args);
    json::array sockets;
    for (const auto& s : m.sockets)
        sockets.push_back(json::object{{"id", s.id},
                                       {"rooms", strings(s.rooms)},
                                       {"data", s.data},
                                       {"address", s.handshake.address},
                                       {"url", s.handshake.url},
                                       {"auth", s.handshake.auth}});
    o["sockets"] = std::move(sockets);
    o["client_count"] = m.client_count;
    return json::serialize(o);
}

inline sio::cluster_message parse(std::string_view text) {
    const auto v = json::parse(text);
    sio::cluster_message m;
    m.type = static_cast<sio::cluster_message::kind>(v.at("type").to_number<int>());
    m.uid = v.at("uid").as_string();
    m.request_id = v.at("request_id").as_string();
    const auto& opts = v.at("opts").as_object();
    m.opts.rooms = strings(opts.at("rooms"));
    m.opts.except = strings(opts.at("except"));
    m.opts.volatile_ = opts.at("volatile").as_bool();
    m.opts.compress = opts.at("compress").as_bool();
    if (opts.contains("timeout"))
        m.opts.timeout = std::chrono::milliseconds(opts.at("timeout").to_number<std::int64_t>());
    m.rooms = strings(v.at("rooms"));
    m.close = v.at("close").as_bool();
    m.event = v.at("event").as_string();
    m.args = arguments_of(v.at("args"));
    for (const auto& s : v.at("sockets").as_array()) {
        sio::socket_details d;
        d.id = s.at("id").as_string();
        d.rooms = strings(s.at("rooms"));
        d.data = s.at("data");
        d.handshake.address = s.at("address").as_string();
        d.handshake.url = s.at("url").as_string();
        d.handshake.auth = s.at("auth").as_object();
        m.sockets.push_back(std::move(d));
    }
    m.client_count = v.at("client_count").to_number<std::size_t>();
    return m;
}

} // namespace bus_detail

/// The shared medium. Outlives the servers that use it.
class bus {
public:
    /// One adapter's mailbox; cleared when the adapter goes away.
    struct endpoint {
        std::mutex mutex;
        sio::cluster_adapter* target = nullptr;
        boost::asio::any_io_executor executor;
        std::string uid;
        std::string nsp;
        bool deaf = false;
        std::function<void(bool)> set_subscribed; ///< the adapter's `cluster_adapter::set_subscribed`
    };

    /// Whether the adapters are subscribed (`adapter_ready()` resolves): for every adapter attached now and
    /// later. Subscribed by default.
    void set_subscribed(bool subscribed) {
        std::vector<std::shared_ptr<endpoint>> all;
        {
            std::lock_guard lock(mutex_);
            subscribed_ = subscribed;
            all = endpoints_;
        }
        for (auto& e : all) {
            std::lock_guard lock(e->mutex);
            if (e->target && e->set_subscribed)
                e->set_subscribed(subscribed);
        }
    }
    bool subscribed() const {
        std::lock_guard lock(mutex_);
        return subscribed_;
    }

    std::shared_ptr<endpoint> attach(sio::cluster_adapter* target, boost::asio::any_io_executor ex,
                                     std::string nsp, bool deaf) {
        auto e = std::make_shared<endpoint>();
        e->target = target;
        e->executor = std::move(ex);
        e->uid = target->uid();
        e->nsp = std::move(nsp);
        e->deaf = deaf;
        std::lock_guard lock(mutex_);
        endpoints_.push_back(e);
        return e;
    }
    void detach(const std::shared_ptr<endpoint>& e) {
        {
            std::lock_guard lock(e->mutex);
            e->target = nullptr;
        }
        std::lock_guard lock(mutex_);
        std::erase(endpoints_, e);
    }

    /// Delivers `text` to every other endpoint of `nsp` (or only to `to` when set).
    void send(const std::string& from, const std::string& nsp, const std::string& to, std::string text) {
        for (auto& e : members(nsp)) {
            if (e->uid == from || (!to.empty() && e->uid != to) || e->deaf)
                continue;
            boost::asio::post(e->executor, [e, text] {
                std::lock_guard lock(e->mutex);
                if (e->target)
                    e->target->on_message(bus_detail::parse(text));
            });
        }
    }
    std::vector<std::shared_ptr<endpoint>> members(const std::string& nsp) const {
        std::lock_guard lock(mutex_);
        std::vector<std::shared_ptr<endpoint>> out;
        for (auto& e : endpoints_)
            if (e->nsp == nsp)
                out.push_back(e);
        return out;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<endpoint>> endpoints_;
    bool subscribed_ = true;
};

/// A cluster adapter over a `bus`.
class bus_adapter : public sio::cluster_adapter {
public:
    bus_adapter(sio::adapter_host& host, bus& b, std::string uid, bool deaf,
                std::chrono::milliseconds requests_timeout)
        : cluster_adapter(host, sio::cluster_options{std::move(uid), requests_timeout}), bus_(b),
          endpoint_(b.attach(this, host.executor(), host.name(), deaf)) {
        {
            std::lock_guard lock(endpoint_->mutex);
            endpoint_->set_subscribed = [this](bool up) { set_subscribed(up); };
        }
        set_subscribed(b.subscribed());
    }
    ~bus_adapter() override { bus_.detach(endpoint_); }

    /// A factory for `server_options::adapter`.
    static sio::adapter_factory
    factory(bus& b, std::string uid, bool deaf = false,
            std::chrono::milliseconds requests_timeout = std::chrono::seconds(5)) {
        return [&b, uid, deaf, requests_timeout](sio::adapter_host& host) {
            return std::make_unique<bus_adapter>(host, b, uid, deaf, requests_timeout);
        };
    }

protected:
    boost::asio::awaitable<std::error_code> publish(sio::cluster_message m) override {
        bus_.send(uid(), host().name(), {}, bus_detail::serialise(m));
        co_return std::error_code{};
    }
    boost::asio::awaitable<std::error_code> publish_response(std::string to,
                                                             sio::cluster_message m) override {
        bus_.send(uid(), host().name(), to, bus_detail::serialise(m));
        co_return std::error_code{};
    }
    boost::asio::awaitable<std::size_t> remote_server_count() override {
        co_return bus_.members(host().name()).size();
    }
    std::vector<std::string> other_server_ids() const override {
        std::vector<std::string> out;
        for (auto& e : bus_.members(host().name()))
            if (e->uid != uid())
                out.push_back(e->uid);
        return out;
    }

private:
    bus& bus_;
    std::shared_ptr<bus::endpoint> endpoint_;
};

} // namespace sio_test
