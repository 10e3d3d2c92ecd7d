// The load generator's HTTP long-polling client (polling.hpp). Each client is what a browser behind a proxy
// that refuses WebSocket does: one keep-alive HTTP/1.1 connection holds the long GET, a second one carries
// the POSTs; Engine.IO v4 payloads (packets separated by 0x1e), Socket.IO v5 text packets, no upgrade.
#include "polling.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>
#include <vector>

namespace loadgen {
namespace {

namespace http = boost::beast::http;
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
awaitable<std::string> request(http_conn& c, const run_state& st, http::verb verb, const std::string& target,
                               std::string body) {
    for (int attempt = 0;; ++attempt) {
        bool fresh = false;
        if (!c.sock.is_open()) {
            co_await c.sock.async_connect(st.endpoint, use_awaitable);
            c.sock.set_option(tcp::no_delay(true));
            c.buf.clear();
            fresh = true;
        }
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, st.host);
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

struct poll_client final : client {
    http_conn get;
    http_conn post;
    std::string target; // base_target + "&sid=<sid>"
    std::vector<std::string> outq;
    bool posting = false;

    explicit poll_client(run_state& s) : client(s), get(s.ioc), post(s.ioc) {}
    void send(std::string m) override;
    awaitable<void> handshake() override;
    void start_reading() override;
    void close() override {
        get.close();
        post.close();
    }
};

// Every packet queued meanwhile goes in one POST (as a browser's client does), one POST at a time.
awaitable<void> post_loop(poll_client& c) {
    try {
        while (!c.outq.empty() && !c.st->stopping) {
            std::string body;
            for (std::size_t i = 0; i < c.outq.size(); ++i) {
                if (i)
                    body += record_separator;
                body += c.outq[i];
            }
            c.outq.clear();
            auto r = co_await request(c.post, *c.st, http::verb::post, c.target, std::move(body));
            if (r != "ok")
                throw std::runtime_error("POST answered " + r.substr(0, 80));
        }
    } catch (const std::exception& e) {
        c.st->fail(e.what());
    }
    c.posting = false;
}

void poll_client::send(std::string m) {
    outq.push_back(std::move(m));
    if (!posting) {
        posting = true;
        net::co_spawn(st->ioc, post_loop(*this), net::detached);
    }
}

// The long poll: a new GET as soon as the previous one answered; every packet of its payload but the noop
// ("6") goes to on_message.
awaitable<void> poll_loop(poll_client& c) {
    try {
        while (!c.st->stopping) {
            auto body = co_await request(c.get, *c.st, http::verb::get, c.target, {});
            if (c.st->stopping)
                break;
            std::string_view rest = body;
            for (;;) {
                auto k = rest.find(record_separator);
                if (const auto p = rest.substr(0, k); p != "6")
                    on_message(c, p);
                if (k == std::string_view::npos)
                    break;
                rest.remove_prefix(k + 1);
            }
        }
    } catch (const std::exception& e) {
        if (!c.st->stopping)
            c.st->fail(std::string("long poll: ") + e.what());
    }
}

// Engine.IO open over polling, Socket.IO CONNECT to "/" (POST) and its answer (GET).
awaitable<void> poll_client::handshake() {
    auto open = co_await request(get, *st, http::verb::get, std::string(base_target), {});
    const auto k = open.find("\"sid\":\"");
    const auto end = k == std::string::npos ? k : open.find('"', k + 7);
    if (open.substr(0, 2) != "0{" || end == std::string::npos)
        throw std::runtime_error("expected an Engine.IO open packet, got: " + open.substr(0, 80));
    target = std::string(base_target) + "&sid=" + open.substr(k + 7, end - k - 7);
    auto ok = co_await request(post, *st, http::verb::post, target, "40");
    if (ok != "ok")
        throw std::runtime_error("the CONNECT's POST answered: " + ok.substr(0, 80));
    auto answer = co_await request(get, *st, http::verb::get, target, {});
    if (answer.substr(0, 3) != "40{" || answer.find("\"sid\"") == std::string::npos ||
        answer.find(record_separator) != std::string::npos)
        throw std::runtime_error("expected a Socket.IO CONNECT answer, got: " + answer.substr(0, 80));
}

void poll_client::start_reading() {
    net::co_spawn(st->ioc, poll_loop(*this), net::detached);
}

} // namespace

std::unique_ptr<client> make_poll_client(run_state& st) {
    return std::make_unique<poll_client>(st);
}

} // namespace loadgen
