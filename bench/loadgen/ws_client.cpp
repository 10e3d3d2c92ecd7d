// The load generator's WebSocket client (ws_client.hpp).
#include "ws_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "msgpack_text.hpp"

namespace loadgen {

bool msgpack_wire = false;

namespace {

wire_message to_wire(std::string m) {
    if (msgpack_wire && m.size() >= 2 && m[0] == '4')
        return {loadgen_msgpack::text_to_msgpack(std::string_view(m).substr(1)), true};
    return {std::move(m), false};
}

/// The message just read into `b`, in text form: a binary msgpack packet becomes `4` + its text form.
std::string_view read_text(const ws::stream<tcp::socket>& s, const boost::beast::flat_buffer& b,
                           std::string& scratch) {
    if (!s.got_binary()) {
        const auto m = text_of(b);
        if (msgpack_wire && m.size() >= 2 && m[0] == '4')
            throw std::runtime_error(
                "a text Socket.IO packet while the parser is msgpack (is the server on the "
                "msgpack parser?): " +
                std::string(m.substr(0, 80)));
        return m;
    }
    if (!msgpack_wire)
        throw std::runtime_error("a binary message while the parser is JSON");
    scratch = "4" + loadgen_msgpack::msgpack_to_text(text_of(b));
    return scratch;
}

awaitable<void> reader(ws_client& c) {
    for (;;) {
        auto [ec, n] = co_await c.ws.async_read(c.buf, tuple_awaitable);
        if (ec) {
            if (!c.st->stopping)
                c.st->fail("connection lost: " + ec.message());
            co_return;
        }
        try {
            on_message(c, read_text(c.ws, c.buf, c.scratch));
        } catch (const std::exception& e) {
            c.st->fail(e.what());
        }
        c.buf.consume(c.buf.size());
    }
}

} // namespace

std::string_view text_of(const boost::beast::flat_buffer& b) {
    return {static_cast<const char*>(b.data().data()), b.size()};
}

awaitable<void> upgrade_and_connect(ws::stream<tcp::socket>& ws, boost::beast::flat_buffer& buf,
                                    const std::string& host, std::string_view nsp) {
    ws.next_layer().set_option(tcp::no_delay(true));
    co_await ws.async_handshake(host, "/socket.io/?EIO=4&transport=websocket", use_awaitable);
    co_await ws.async_read(buf, use_awaitable);
    if (text_of(buf).substr(0, 2) != "0{")
        throw std::runtime_error("expected an Engine.IO open packet, got: " +
                                 std::string(text_of(buf).substr(0, 80)));
    buf.consume(buf.size());
    // "40" for "/", "40/nsp," for another namespace; the answer carries the same prefix.
    const std::string connect = nsp == "/" ? std::string("40") : "40" + std::string(nsp) + ",";
    const auto out = to_wire(connect);
    ws.binary(out.binary);
    co_await ws.async_write(net::buffer(out.bytes), use_awaitable);
    ws.text(true);
    co_await ws.async_read(buf, use_awaitable);
    std::string scratch;
    auto m = read_text(ws, buf, scratch);
    if (m.substr(0, connect.size() + 1) != connect + "{" || m.find("\"sid\"") == std::string_view::npos)
        throw std::runtime_error("expected a Socket.IO CONNECT answer, got: " + std::string(m.substr(0, 80)));
    buf.consume(buf.size());
}

ws_client::ws_client(run_state& s) : client(s), ws(s.ioc) {
    ws.auto_fragment(false);
    ws.read_message_max(64 * 1024 * 1024);
    ws.text(true);
}

void ws_client::send(std::string m) {
    outq.push_back(to_wire(std::move(m)));
    if (!writing)
        write_next();
}

void ws_client::write_next() {
    if (outq.empty()) {
        writing = false;
        return;
    }
    writing = true;
    ws.binary(outq.front().binary);
    ws.async_write(net::buffer(outq.front().bytes), [this](boost::system::error_code ec, std::size_t) {
        if (ec) {
            writing = false;
            st->fail("write failed: " + ec.message());
            return;
        }
        outq.pop_front();
        write_next();
    });
}

awaitable<void> ws_client::handshake() {
    co_await ws.next_layer().async_connect(st->endpoint, use_awaitable);
    co_await upgrade_and_connect(ws, buf, st->host);
}

void ws_client::start_reading() {
    net::co_spawn(st->ioc, reader(*this), net::detached);
}

void ws_client::close() {
    boost::system::error_code ec;
    ws.next_layer().shutdown(tcp::socket::shutdown_both, ec);
    ws.next_layer().close(ec);
}

} // namespace loadgen
