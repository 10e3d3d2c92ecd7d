// The bodies of the Socket.IO loopback test support (sio_loopback.hpp), compiled once for every test.
#include "support/sio_loopback.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value_to.hpp>
#include <boost/test/unit_test.hpp>

namespace sio_test {

// --- sio_client ------------------------------------------------------------------------------------

sio_client::sio_client(net::io_context& ioc, std::uint16_t port, std::string query,
                       std::vector<std::pair<std::string, std::string>> headers)
    : ws_(ioc, port) {
    auto req = upgrade_request(std::string(sio_target) + query);
    for (const auto& [name, value] : headers)
        req.set(name, value);
    const auto r = ws_.request(req);
    if (r.result_int() != 101)
        throw std::runtime_error("upgrade refused with " + std::to_string(r.result_int()));
    const std::string open = ws_.read_text();
    if (open.size() < 2 || open.front() != '0')
        throw std::runtime_error("expected an open packet, got " + open);
    eio_sid_ = json::value_to<std::string>(json::parse(open.substr(1)).at("sid"));
}

void sio_client::send_together(std::initializer_list<std::string_view> packets) {
    std::string bytes;
    for (const auto p : packets)
        bytes += frame(op_text, p);
    ws_.send_raw(std::move(bytes));
}

void sio_client::send_close() {
    ws_.send_frame(op_close, close_payload(1000));
    close_sent_ = true;
}

std::optional<message> sio_client::next(duration limit, bool return_pings) {
    const auto deadline = clock_type::now() + limit;
    std::string data;
    int opcode = -1;
    for (;;) {
        const auto left = deadline - clock_type::now();
        if (left <= duration::zero())
            throw std::runtime_error("no message in time");
        auto f = ws_.read_frame(left);
        if (!f)
            return std::nullopt;
        if (f->opcode == op_close) {
            // Complete the closing handshake (unless this answers ours), then end the connection.
            if (!close_sent_)
                ws_.try_send_raw(frame(op_close, f->data.substr(0, 2)));
            ws_.close();
            return std::nullopt;
        }
        if (f->opcode == op_ping) {
            ws_.send_frame(op_pong, f->data);
            continue;
        }
        if (f->opcode == op_pong)
            continue;
        if (f->opcode == op_cont) {
            data += f->data;
        } else {
            opcode = f->opcode;
            data = std::move(f->data);
        }
        if (!f->fin)
            continue;
        if (opcode == op_binary)
            return message{true, std::move(data)};
        if (data == "2") {
            if (answer_pings_)
                ws_.send_text("3");
            if (return_pings)
                return message{false, std::move(data)};
            continue;
        }
        return message{false, std::move(data)};
    }
}

std::string sio_client::read(duration limit) {
    auto m = next(limit);
    if (!m)
        throw std::runtime_error("connection closed while waiting for a text packet");
    if (m->binary)
        throw std::runtime_error("expected a text packet, got a binary frame");
    return std::move(m->data);
}

std::string sio_client::read_binary(duration limit) {
    auto m = next(limit);
    if (!m)
        throw std::runtime_error("connection closed while waiting for a binary frame");
    if (!m->binary)
        throw std::runtime_error("expected a binary frame, got " + m->data);
    return std::move(m->data);
}

std::string sio_client::connect(std::string_view nsp, std::string_view auth) {
    const std::string prefix = nsp == "/" ? std::string("40") : "40" + std::string(nsp) + ",";
    send(prefix + std::string(auth));
    const std::string reply = read();
    if (!reply.starts_with(prefix))
        throw std::runtime_error("CONNECT to " + std::string(nsp) + " answered " + reply);
    return json::value_to<std::string>(json::parse(reply.substr(prefix.size())).at("sid"));
}

bool sio_client::closed(duration limit) {
    const auto deadline = clock_type::now() + limit;
    try {
        while (next(deadline - clock_type::now()))
            ;
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

// --- sio_server ------------------------------------------------------------------------------------

sio_server::sio_server(sio::server_options options)
    : work_(net::make_work_guard(sioc_)),
      io_(std::make_unique<sio::server>(sioc_.get_executor(), std::move(options))) {}

void sio_server::start(unsigned threads) {
    if (const auto ec = io_->listen("127.0.0.1", 0))
        throw std::system_error(ec, "listen");
    port_ = io_->local_port();
    for (unsigned i = 0; i < threads; ++i)
        threads_.emplace_back([this] {
            sioc_.run();
            std::lock_guard lock(mutex_);
            ++finished_;
            cv_.notify_all();
        });
}

sio_client sio_server::client(std::string query, std::vector<std::pair<std::string, std::string>> headers) {
    return sio_client(client_ioc_, port_, std::move(query), std::move(headers));
}

void sio_server::crash() {
    sioc_.stop();
    for (auto& t : threads_)
        t.join();
    threads_.clear();
    std::lock_guard lock(mutex_);
    finished_ = 0;
}

void sio_server::stop() {
    if (!io_)
        return;
    static_cast<void>(io_->close(std::chrono::milliseconds(0))); // at once; runs on the loop
    work_.reset();
    {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, 2s, [&] { return finished_ == threads_.size(); }))
            BOOST_TEST_MESSAGE("the server's io_context did not run out of work; stopped");
    }
    sioc_.stop();
    for (auto& t : threads_)
        t.join();
    threads_.clear();
    io_.reset();
}

// --- helpers -----------------------------------------------------------------------------------------

void install(sio::namespace_ nsp, recorder& log) {
    nsp.on_connection([&log](sio::socket s) {
        log.keep(s);
        log.add("connect " + s.nsp());
        s.on_disconnect([&log](sio::socket s, sio::disconnect_reason r) {
            log.add("disconnect " + s.nsp() + " " + std::string(sio::to_string(r)));
        });
    });
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::vector<std::string> ids(const sio::fetch_sockets_result& r) {
    std::vector<std::string> out;
    for (const auto& s : r)
        out.push_back(s.id());
    return sorted(out);
}

} // namespace sio_test
