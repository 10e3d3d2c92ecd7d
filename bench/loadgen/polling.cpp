// The load generator's HTTP long-polling clients (polling.hpp). Each client is what a browser behind a proxy
// that refuses WebSocket does: one keep-alive HTTP/1.1 connection holds the long GET, a second one carries
// the POSTs; Engine.IO v4 payloads (packets separated by 0x1e), Socket.IO v5 text packets, no upgrade.
#include "polling.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace loadgen {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using net::awaitable;
using net::use_awaitable;
constexpr auto tuple_awaitable = net::as_tuple(use_awaitable);
constexpr char record_separator = '\x1e';
constexpr std::string_view base_target = "/socket.io/?EIO=4&transport=polling";

// One HTTP/1.1 keep-alive connection, one request at a time.
struct http_conn {
    tcp::socket sock;
    boost::beast::flat_buffer buf;
    explicit http_conn(net::io_context& ioc) : sock(ioc) {}
    void close() {
        boost::system::error_code ec;
        sock.shutdown(tcp::socket::shutdown_both, ec);
        sock.close(ec);
    }
};

// Sends one request and returns the body of its 200 response. A kept-alive connection the server closed
// meanwhile (Node ends idle ones after 5 s) is replaced once by a fresh one.
awaitable<std::string> request(http_conn& c, const polling_env& env, http::verb verb,
                               const std::string& target, std::string body) {
    for (int attempt = 0;; ++attempt) {
        bool fresh = false;
        if (!c.sock.is_open()) {
            co_await c.sock.async_connect(env.endpoint, use_awaitable);
            c.sock.set_option(tcp::no_delay(true));
            c.buf.clear();
            fresh = true;
        }
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, env.host);
        if (verb == http::verb::post) {
            req.set(http::field::content_type, "text/plain;charset=UTF-8");
            req.body() = body;
        }
        req.prepare_payload();
        auto [wec, wn] = co_await http::async_write(c.sock, req, tuple_awaitable);
        boost::system::error_code ec = wec;
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        if (!ec) {
            auto [rec, rn] = co_await http::async_read(c.sock, c.buf, parser, tuple_awaitable);
            ec = rec;
        }
        if (ec) {
            c.close();
            if (!fresh && attempt == 0)
                continue;
            throw std::runtime_error(std::string(http::to_string(verb)) + " failed: " + ec.message());
        }
        auto res = parser.release();
        if (!res.keep_alive())
            c.close();
        if (res.result() != http::status::ok)
            throw std::runtime_error(std::string(http::to_string(verb)) + " answered " +
                                     std::to_string(res.result_int()) + ": " + res.body().substr(0, 80));
        co_return std::move(res.body());
    }
}

enum class pending_ack { none, echo, trigger };

struct poll_client;

struct poll_state {
    polling_env env;
    std::string failure;
    bool stopping = false;
    net::steady_timer wake_timer;

    std::string expected_msg; // 42["msg",<payload>]
    std::uint64_t remaining = 0;
    bool trigger_acked = true;
    bool first_seen = true;
    clock_type::time_point first_delivery{};

    clock_type::time_point deadline{};
    std::uint64_t ops = 0;
    std::size_t echo_active = 0;
    std::vector<std::uint32_t> latencies_us;

    std::vector<std::unique_ptr<poll_client>> clients;
    std::size_t connect_next = 0;
    std::size_t connect_done = 0;

    explicit poll_state(polling_env e) : env(std::move(e)), wake_timer(env.ioc) {}
    void wake() { wake_timer.cancel(); }
    void fail(std::string why) {
        if (failure.empty() && !stopping)
            failure = std::move(why);
        wake();
    }
    awaitable<void> wait() {
        if (!failure.empty())
            throw std::runtime_error(failure);
        wake_timer.expires_at(clock_type::time_point::max());
        co_await wake_timer.async_wait(tuple_awaitable);
        if (!failure.empty())
            throw std::runtime_error(failure);
    }
    awaitable<void> sleep(std::chrono::milliseconds d) {
        net::steady_timer t(env.ioc, d);
        co_await t.async_wait(tuple_awaitable);
    }
};

struct poll_client {
    poll_state& st;
    http_conn get;
    http_conn post;
    std::string target; // base_target + "&sid=<sid>"
    std::vector<std::string> outq;
    bool posting = false;
    pending_ack pending = pending_ack::none;
    std::uint64_t next_id = 0;
    std::string echo_tail; // the expected ack after "43<id>"
    std::string echo_payload;
    clock_type::time_point sent_at{};

    explicit poll_client(poll_state& s) : st(s), get(s.env.ioc), post(s.env.ioc) {}
    void send(std::string m);
    void close() {
        get.close();
        post.close();
    }
};

// Every packet queued meanwhile goes in one POST (as a browser's client does), one POST at a time.
awaitable<void> post_loop(poll_client& c) {
    try {
        while (!c.outq.empty() && !c.st.stopping) {
            std::string body;
            for (std::size_t i = 0; i < c.outq.size(); ++i) {
                if (i)
                    body += record_separator;
                body += c.outq[i];
            }
            c.outq.clear();
            auto r = co_await request(c.post, c.st.env, http::verb::post, c.target, std::move(body));
            if (r != "ok")
                throw std::runtime_error("POST answered " + r.substr(0, 80));
        }
    } catch (const std::exception& e) {
        c.st.fail(e.what());
    }
    c.posting = false;
}

void poll_client::send(std::string m) {
    outq.push_back(std::move(m));
    if (!posting) {
        posting = true;
        net::co_spawn(st.env.ioc, post_loop(*this), net::detached);
    }
}

void send_echo(poll_client& c) {
    auto id = c.next_id++;
    c.echo_tail = "[" + c.echo_payload + "," + std::to_string(id) + "]";
    c.pending = pending_ack::echo;
    c.sent_at = clock_type::now();
    c.send("42" + std::to_string(id) + "[\"echo\"," + c.echo_payload + "," + std::to_string(id) + "]");
}

void on_ack(poll_client& c, std::string_view m) {
    auto& st = c.st;
    std::size_t i = 2;
    std::uint64_t id = 0;
    while (i < m.size() && m[i] >= '0' && m[i] <= '9')
        id = id * 10 + static_cast<std::uint64_t>(m[i++] - '0');
    if (i == 2 || c.pending == pending_ack::none || id + 1 != c.next_id)
        return st.fail("unexpected ack: " + std::string(m.substr(0, 80)));
    auto tail = m.substr(i);
    auto kind = c.pending;
    c.pending = pending_ack::none;
    if (kind == pending_ack::trigger) {
        if (tail != "[]")
            return st.fail("wrong broadcast ack: " + std::string(m.substr(0, 80)));
        st.trigger_acked = true;
        if (st.remaining == 0)
            st.wake();
        return;
    }
    if (tail != c.echo_tail)
        return st.fail("wrong echo ack: " + std::string(m.substr(0, 80)));
    auto now = clock_type::now();
    ++st.ops;
    st.latencies_us.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent_at).count(), UINT32_MAX)));
    if (now < st.deadline)
        send_echo(c);
    else if (--st.echo_active == 0)
        st.wake();
}

// One Engine.IO packet of a GET's payload.
void on_packet(poll_client& c, std::string_view p) {
    auto& st = c.st;
    if (p == "2") { // ping: the pong goes in the next POST
        c.outq.push_back("3");
        if (!c.posting) {
            c.posting = true;
            net::co_spawn(st.env.ioc, post_loop(c), net::detached);
        }
        return;
    }
    if (p == "6") // noop
        return;
    // An Engine.IO message ("4") holding a Socket.IO EVENT ("2") or ACK ("3"), as over WebSocket.
    if (p.size() >= 2 && p.substr(0, 2) == "42") {
        if (p != st.expected_msg)
            return st.fail("unexpected event: " + std::string(p.substr(0, 80)));
        if (st.remaining == 0)
            return st.fail("more deliveries than broadcast");
        if (!st.first_seen) {
            st.first_seen = true;
            st.first_delivery = clock_type::now();
        }
        if (--st.remaining == 0 && st.trigger_acked)
            st.wake();
        return;
    }
    if (p.size() >= 2 && p.substr(0, 2) == "43")
        return on_ack(c, p);
    st.fail("unexpected packet: " + std::string(p.substr(0, 80)));
}

// The long poll: a new GET as soon as the previous one answered.
awaitable<void> poll_loop(poll_client& c) {
    try {
        while (!c.st.stopping) {
            auto body = co_await request(c.get, c.st.env, http::verb::get, c.target, {});
            if (c.st.stopping)
                break;
            std::string_view rest = body;
            for (;;) {
                auto k = rest.find(record_separator);
                on_packet(c, rest.substr(0, k));
                if (k == std::string_view::npos)
                    break;
                rest.remove_prefix(k + 1);
            }
        }
    } catch (const std::exception& e) {
        if (!c.st.stopping)
            c.st.fail(std::string("long poll: ") + e.what());
    }
}

// Engine.IO open over polling, Socket.IO CONNECT to "/" (POST) and its answer (GET).
awaitable<void> handshake(poll_client& c) {
    const auto& env = c.st.env;
    auto open = co_await request(c.get, env, http::verb::get, std::string(base_target), {});
    const auto k = open.find("\"sid\":\"");
    const auto end = k == std::string::npos ? k : open.find('"', k + 7);
    if (open.substr(0, 2) != "0{" || end == std::string::npos)
        throw std::runtime_error("expected an Engine.IO open packet, got: " + open.substr(0, 80));
    c.target = std::string(base_target) + "&sid=" + open.substr(k + 7, end - k - 7);
    auto ok = co_await request(c.post, env, http::verb::post, c.target, "40");
    if (ok != "ok")
        throw std::runtime_error("the CONNECT's POST answered: " + ok.substr(0, 80));
    auto answer = co_await request(c.get, env, http::verb::get, c.target, {});
    if (answer.substr(0, 3) != "40{" || answer.find("\"sid\"") == std::string::npos ||
        answer.find(record_separator) != std::string::npos)
        throw std::runtime_error("expected a Socket.IO CONNECT answer, got: " + answer.substr(0, 80));
}

// Connects st.clients[next..] (64 handshakes in flight); each client starts polling once connected.
awaitable<void> connect_worker(poll_state& st) {
    while (st.connect_next < st.clients.size() && st.failure.empty()) {
        auto& c = *st.clients[st.connect_next++];
        try {
            co_await handshake(c);
        } catch (const std::exception& e) {
            st.fail(std::string("handshake failed: ") + e.what());
            co_return;
        }
        net::co_spawn(st.env.ioc, poll_loop(c), net::detached);
        if (++st.connect_done == st.clients.size())
            st.wake();
    }
}

awaitable<void> connect_all(poll_state& st, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        st.clients.push_back(std::make_unique<poll_client>(st));
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 64); ++i)
        net::co_spawn(st.env.ioc, connect_worker(st), net::detached);
    while (st.connect_done < n)
        co_await st.wait();
}

struct server_sample {
    double cpu_s = 0;
    double rss = 0;
};

// Waits until the server's CPU time stops moving (at most `limit`).
awaitable<server_sample> quiet(poll_state& st,
                               std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    server_sample s;
    st.env.sample(s.cpu_s, s.rss);
    const auto until = clock_type::now() + limit;
    while (clock_type::now() < until) {
        co_await st.sleep(std::chrono::milliseconds(150));
        server_sample t;
        st.env.sample(t.cpu_s, t.rss);
        const bool still = t.cpu_s == s.cpu_s;
        s = t;
        if (still)
            break;
    }
    co_return s;
}

double percentile(std::vector<std::uint32_t>& v, double p) {
    if (v.empty())
        return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

std::string make_payload(long bytes) {
    std::string p = "\"";
    for (long i = 0; i < bytes; ++i)
        p += static_cast<char>('a' + i % 26);
    return p + "\"";
}

awaitable<void> run_conn(poll_state& st, std::ostringstream& r) {
    const auto n = static_cast<std::size_t>(st.env.num("n", 1000, 1, 9000));
    auto before = co_await quiet(st);
    const auto t0 = clock_type::now();
    co_await connect_all(st, n);
    const auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    co_await quiet(st);
    co_await st.sleep(std::chrono::milliseconds(300));
    server_sample after;
    st.env.sample(after.cpu_s, after.rss);
    r << ",\"n\":" << n << ",\"bytes_per_session\":" << (after.rss - before.rss) / static_cast<double>(n)
      << ",\"rss_before\":" << before.rss << ",\"rss_after\":" << after.rss
      << ",\"connects_per_s\":" << static_cast<double>(n) / secs
      << ",\"cpu_us_per_connect\":" << (after.cpu_s - before.cpu_s) * 1e6 / static_cast<double>(n);
}

awaitable<void> run_echo(poll_state& st, std::ostringstream& r) {
    const auto n = static_cast<std::size_t>(st.env.num("clients", 10, 1, 9000));
    const auto payload = make_payload(st.env.num("payload", 16, 0, 1'000'000));
    const auto duration = std::chrono::milliseconds(st.env.num("duration", 5, 1, 600) * 1000);
    co_await connect_all(st, n);
    auto before = co_await quiet(st);
    const auto t0 = clock_type::now();
    st.deadline = t0 + duration;
    st.echo_active = n;
    for (auto& c : st.clients) {
        c->echo_payload = payload;
        send_echo(*c);
    }
    while (st.echo_active > 0)
        co_await st.wait();
    const auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto after = co_await quiet(st, std::chrono::milliseconds(1000));
    const double cpu = after.cpu_s - before.cpu_s;
    r << ",\"clients\":" << n << ",\"ops\":" << st.ops << ",\"duration_s\":" << secs
      << ",\"server_cpu_s\":" << cpu << ",\"cpu_s_per_100k\":" << cpu / static_cast<double>(st.ops) * 1e5
      << ",\"ops_per_s\":" << static_cast<double>(st.ops) / secs
      << ",\"p50_us\":" << percentile(st.latencies_us, 0.5)
      << ",\"p99_us\":" << percentile(st.latencies_us, 0.99);
}

awaitable<void> run_bcast(poll_state& st, std::ostringstream& r) {
    const auto n = static_cast<std::size_t>(st.env.num("clients", 100, 1, 9000));
    const auto count = static_cast<std::uint64_t>(st.env.num("count", 10, 1, 100'000));
    const auto rounds = static_cast<std::uint64_t>(st.env.num("rounds", 1, 1, 100'000));
    const auto payload = make_payload(st.env.num("payload", 16, 0, 1'000'000));
    if (static_cast<double>(n) * static_cast<double>(count) * static_cast<double>(rounds) > 2e9)
        throw std::runtime_error("clients x count x rounds is too large");
    st.expected_msg = "42[\"msg\"," + payload + "]";
    co_await connect_all(st, n);
    auto& trigger = *st.clients[0];
    auto before = co_await quiet(st);
    const auto t0 = clock_type::now();
    double first_us = 0;
    for (std::uint64_t k = 0; k < rounds; ++k) {
        st.remaining = n * count;
        st.trigger_acked = false;
        st.first_seen = k != 0;
        const auto sent = clock_type::now();
        auto id = trigger.next_id++;
        trigger.pending = pending_ack::trigger;
        trigger.send("42" + std::to_string(id) + "[\"bcast\"," + std::to_string(count) + "," + payload + "]");
        while (st.remaining > 0 || !st.trigger_acked)
            co_await st.wait();
        if (k == 0)
            first_us = std::chrono::duration<double, std::micro>(st.first_delivery - sent).count();
    }
    const auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto after = co_await quiet(st, std::chrono::milliseconds(1000));
    const double cpu = after.cpu_s - before.cpu_s;
    const double deliveries =
        static_cast<double>(n) * static_cast<double>(count) * static_cast<double>(rounds);
    r << ",\"clients\":" << n << ",\"count\":" << count << ",\"rounds\":" << rounds
      << ",\"deliveries\":" << static_cast<std::uint64_t>(deliveries) << ",\"duration_s\":" << secs
      << ",\"server_cpu_s\":" << cpu << ",\"cpu_us_per_1k\":" << cpu * 1e6 / deliveries * 1000
      << ",\"deliveries_per_s\":" << deliveries / secs << ",\"first_delivery_us\":" << first_us;
}

} // namespace

bool is_polling_scenario(std::string_view scenario) {
    return scenario == "poll-conn" || scenario == "poll-echo" || scenario == "poll-bcast";
}

awaitable<std::string> run_polling(std::string_view scenario, polling_env env) {
    // Left allocated: the detached long polls refer to it until the process exits.
    auto& st = *new poll_state(std::move(env));
    std::ostringstream r;
    std::string error;
    try {
        if (scenario == "poll-conn")
            co_await run_conn(st, r);
        else if (scenario == "poll-echo")
            co_await run_echo(st, r);
        else
            co_await run_bcast(st, r);
        if (!st.failure.empty())
            error = st.failure;
    } catch (const std::exception& e) {
        error = e.what();
    }
    st.stopping = true;
    for (auto& c : st.clients)
        c->close();
    if (!error.empty())
        throw std::runtime_error(error);
    co_return r.str();
}

} // namespace loadgen
