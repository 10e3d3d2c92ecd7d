#include "site.hpp"

#include <sio/engineio/attach.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/http.hpp>

#include <fstream>
#include <sstream>

namespace chat {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

std::string_view content_type(const std::filesystem::path& file) {
    const auto ext = file.extension();
    if (ext == ".html")
        return "text/html; charset=utf-8";
    if (ext == ".js")
        return "text/javascript; charset=utf-8";
    if (ext == ".css")
        return "text/css; charset=utf-8";
    if (ext == ".svg")
        return "image/svg+xml";
    return "application/octet-stream";
}

/// The file of `root` a target names, or an empty path (no sub-folders, no dot files).
std::filesystem::path resolve(const std::filesystem::path& root, std::string_view target) {
    std::string_view name = target.substr(0, target.find('?'));
    if (name == "/")
        name = "/index.html";
    name.remove_prefix(1);
    if (name.empty() || name.front() == '.' || name.find('/') != std::string_view::npos ||
        name.find('\\') != std::string_view::npos)
        return {};
    return root / std::string(name);
}

http::response<http::string_body> respond(const std::filesystem::path& root, const std::string& client_bundle,
                                          const http::request<http::empty_body>& req) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    const auto file = resolve(root, req.target());
    std::ifstream in;
    if (!file.empty())
        in.open(file, std::ios::binary);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
    } else if (!in) {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "Not Found\n";
    } else {
        std::ostringstream body;
        body << in.rdbuf();
        res.set(http::field::content_type, content_type(file));
        res.set(http::field::cache_control, "no-cache");
        res.body() = body.str();
        // The page names the default bundle; another one (the msgpack parser's) replaces it.
        static constexpr std::string_view default_bundle = "/socket.io/socket.io.min.js";
        if (file.filename() == "index.html" && client_bundle != "socket.io.min.js")
            if (const auto at = res.body().find(default_bundle); at != std::string::npos)
                res.body().replace(at, default_bundle.size(), "/socket.io/" + client_bundle);
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) {
        const auto length = res.body().size();
        res.body().clear();
        res.content_length(length); // the length a GET would have
    }
    return res;
}

net::awaitable<void> serve(beast::tcp_stream stream, sio::server& io, std::filesystem::path root,
                           std::string client_bundle, std::string sio_prefix) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::empty_body> parser;
        stream.expires_after(std::chrono::seconds(30));
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        if (ec)
            co_return;
        const std::string_view target = parser.get().target();
        if (io.engine().handles(target) || (!sio_prefix.empty() && target.starts_with(sio_prefix))) {
            stream.expires_never();
            sio::engineio::attach(io.engine(), std::move(stream), std::move(buffer), parser.release().base());
            co_return;
        }
        if (!parser.is_done()) // a body we do not read: answer and close
            parser.get().keep_alive(false);
        auto res = respond(root, client_bundle, parser.get());
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        if (wec || !res.keep_alive())
            co_return;
    }
}

net::awaitable<void> accept_loop(net::ip::tcp::acceptor& acceptor, sio::server& io,
                                 std::filesystem::path root, std::string client_bundle,
                                 std::string sio_prefix) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec == net::error::operation_aborted || !acceptor.is_open())
            co_return;
        if (!ec)
            net::co_spawn(acceptor.get_executor(),
                          serve(beast::tcp_stream(std::move(socket)), io, root, client_bundle, sio_prefix),
                          net::detached);
    }
}

net::awaitable<void> shut_down(sio::server& io, net::ip::tcp::acceptor& acceptor, net::io_context& ioc) {
    acceptor.close();
    co_await io.close(std::chrono::seconds(2));
    ioc.stop();
}

} // namespace

boost::system::error_code open_acceptor(net::ip::tcp::acceptor& acceptor, std::uint16_t port) {
    boost::system::error_code ec;
    const net::ip::tcp::endpoint endpoint{net::ip::make_address("0.0.0.0"), port};
    if (acceptor.open(endpoint.protocol(), ec); !ec)
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor.bind(endpoint, ec);
    if (!ec)
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    return ec;
}

void run_until_signal(net::io_context& ioc, net::ip::tcp::acceptor& acceptor, sio::server& io) {
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& error, int) {
        if (!error)
            net::co_spawn(ioc, shut_down(io, acceptor, ioc), net::detached);
    });
    ioc.run();
}

void serve_site(net::ip::tcp::acceptor& acceptor, sio::server& io, std::filesystem::path root,
                std::string client_bundle, std::string sio_prefix) {
    net::co_spawn(acceptor.get_executor(),
                  accept_loop(acceptor, io, std::move(root), std::move(client_bundle), std::move(sio_prefix)),
                  net::detached);
}

} // namespace chat
