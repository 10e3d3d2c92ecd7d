// The I/O of the raw loopback test client (loopback_client.hpp), compiled once for every test.
#include "support/loopback_client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include <sstream>

namespace sio_test {

std::string polling_target(std::string_view sid) {
    std::string t = "/engine.io/?EIO=4&transport=polling";
    if (!sid.empty())
        t += "&sid=" + std::string(sid);
    return t;
}

std::string websocket_target(std::string_view sid) {
    std::string t = "/engine.io/?EIO=4&transport=websocket";
    if (!sid.empty())
        t += "&sid=" + std::string(sid);
    return t;
}

void drive(net::io_context& ioc, const bool& done, duration limit) {
    ioc.restart();
    const auto deadline = clock_type::now() + limit;
    while (!done)
        if (ioc.run_one_until(deadline) == 0)
            break;
}

void run_io(net::io_context& ioc, net::awaitable<void> op, duration limit) {
    auto st = std::make_shared<std::pair<bool, std::exception_ptr>>();
    net::co_spawn(ioc, std::move(op), [st](std::exception_ptr ex) {
        st->second = ex;
        st->first = true;
    });
    drive(ioc, st->first, limit);
    if (!st->first)
        throw std::runtime_error("client operation did not complete in time");
    if (st->second)
        std::rethrow_exception(st->second);
}

http_request make_request(http::verb method, std::string target, std::string body) {
    http_request r{method, target, 11};
    r.set(http::field::host, "127.0.0.1");
    if (method == http::verb::post || !body.empty())
        r.set(http::field::content_type, "text/plain;charset=UTF-8");
    r.body() = std::move(body);
    r.prepare_payload();
    return r;
}

http_request upgrade_request(std::string target) {
    http_request r{http::verb::get, target, 11};
    r.set(http::field::host, "127.0.0.1");
    r.set(http::field::upgrade, "websocket");
    r.set(http::field::connection, "Upgrade");
    r.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    r.set(http::field::sec_websocket_version, "13");
    return r;
}

std::string serialize(const http_request& r) {
    std::ostringstream os;
    os << r;
    return os.str();
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xff));
    p.append(reason);
    return p;
}

test_client::test_client(net::io_context& ioc, std::uint16_t port) : ioc_(&ioc), stream_(ioc) {
    run_io(*ioc_, connect_op(port));
}

void test_client::send_raw(std::string bytes) {
    run_io(*ioc_, write_op(std::move(bytes)));
}

http_response test_client::receive(duration limit) {
    return run_io(*ioc_, receive_op(limit), limit + 1s);
}

bool test_client::closed_by_peer(duration limit) {
    return run_io(*ioc_, closed_op(limit), limit + 1s);
}

bool test_client::try_send_raw(std::string bytes) {
    return run_io(*ioc_, try_write_op(std::move(bytes)));
}

void test_client::close() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
}

void test_client::pause(duration d) {
    run_io(*ioc_, pause_op(d));
}

std::optional<ws_frame> test_client::read_frame(duration limit) {
    return run_io(*ioc_, read_frame_op(limit), limit + 1s);
}

std::string test_client::read_text(duration limit) {
    auto f = read_frame(limit);
    if (!f)
        throw std::runtime_error("connection closed while waiting for a text frame");
    if (f->opcode != op_text)
        throw std::runtime_error("expected a text frame, got opcode " + std::to_string(f->opcode));
    return f->data;
}

int test_client::read_close_code(duration limit) {
    for (;;) {
        auto f = read_frame(limit);
        if (!f)
            return -1;
        if (f->opcode == op_close)
            return f->data.size() >= 2 ? (static_cast<unsigned char>(f->data[0]) << 8) |
                                             static_cast<unsigned char>(f->data[1])
                                       : 1005;
    }
}

net::awaitable<void> test_client::connect_op(std::uint16_t port) {
    stream_.expires_after(io_limit);
    co_await stream_.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), port), net::use_awaitable);
}

net::awaitable<void> test_client::write_op(std::string bytes) {
    stream_.expires_after(io_limit);
    co_await net::async_write(stream_, net::buffer(bytes), net::use_awaitable);
}

net::awaitable<bool> test_client::try_write_op(std::string bytes) {
    stream_.expires_after(io_limit);
    auto [ec, n] = co_await net::async_write(stream_, net::buffer(bytes), awaitable_tuple);
    if (ec == beast::error::timeout)
        throw boost::system::system_error(ec);
    co_return !ec;
}

net::awaitable<http_response> test_client::receive_op(duration limit) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream_.expires_after(limit);
    co_await http::async_read(stream_, buffer_, parser, net::use_awaitable);
    co_return parser.release();
}

net::awaitable<bool> test_client::closed_op(duration limit) {
    stream_.expires_after(limit);
    buffer_.clear();
    for (;;) {
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(64 * 1024), awaitable_tuple);
        buffer_.clear();
        if (ec)
            co_return ec != beast::error::timeout;
    }
}

net::awaitable<void> test_client::pause_op(duration d) {
    net::steady_timer t(*ioc_);
    t.expires_after(d);
    co_await t.async_wait(net::use_awaitable);
}

net::awaitable<bool> test_client::fill(std::size_t n) {
    while (buffer_.size() < n) {
        auto [ec, got] = co_await stream_.async_read_some(
            buffer_.prepare(std::max<std::size_t>(n - buffer_.size(), 16 * 1024)), awaitable_tuple);
        buffer_.commit(got);
        if (ec == beast::error::timeout)
            throw boost::system::system_error(ec, "waiting for a WebSocket frame");
        if (ec)
            co_return false;
    }
    co_return true;
}

net::awaitable<std::optional<ws_frame>> test_client::read_frame_op(duration limit) {
    stream_.expires_after(limit);
    for (std::size_t needed = 2;;) {
        if (!co_await fill(needed))
            co_return std::nullopt;
        ws_frame f;
        if (const auto used =
                decode_frame({static_cast<const char*>(buffer_.data().data()), buffer_.size()}, f, needed)) {
            buffer_.consume(used);
            co_return f;
        }
    }
}

std::size_t decode_frame(std::string_view bytes, ws_frame& out, std::size_t& needed) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    needed = 2;
    if (bytes.size() < needed)
        return 0;
    std::uint64_t len = byte(1) & 0x7f;
    std::size_t header = len == 126 ? 4 : len == 127 ? 10 : 2;
    const bool masked = (byte(1) & 0x80) != 0;
    needed = header + (masked ? 4 : 0);
    if (bytes.size() < needed)
        return 0;
    if (header > 2) {
        len = 0;
        for (std::size_t i = 2; i < header; ++i)
            len = (len << 8) | byte(i);
    }
    const std::size_t key_at = header;
    header = needed;
    needed = header + len;
    if (bytes.size() < needed)
        return 0;
    out.fin = (byte(0) & 0x80) != 0;
    out.rsv = (byte(0) >> 4) & 7;
    out.opcode = byte(0) & 0x0f;
    out.masked = masked;
    out.data.assign(bytes.substr(header, len));
    if (masked)
        for (std::size_t i = 0; i < out.data.size(); ++i)
            out.data[i] = static_cast<char>(out.data[i] ^ static_cast<char>(byte(key_at + i % 4)));
    return needed;
}

} // namespace sio_test
