// Micro-benchmark of the broadcast fan-out: a sio::server in this process with N connected loopback WebSocket
// clients; one iteration is `io.emit("msg", payload)` plus running the io_context until every recipient's
// write was issued (encode once, queue per socket, the writes themselves). The clients' bytes are drained
// outside the timed region.
#include <sio/sio.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

namespace {

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

struct fanout_fixture {
    net::io_context server_ioc{1};
    std::unique_ptr<sio::server> io;
    net::io_context client_ioc{1};
    std::vector<std::unique_ptr<websocket::stream<tcp::socket>>> clients;
    std::atomic<std::size_t> connected{0};

    explicit fanout_fixture(std::size_t n, sio::server_options options = {}) {
        io = std::make_unique<sio::server>(server_ioc.get_executor(), std::move(options));
        io->on_connection([this](sio::socket) { ++connected; });
        if (auto ec = io->listen("127.0.0.1", 0))
            throw std::runtime_error("listen: " + ec.message());
        auto guard = net::make_work_guard(server_ioc);
        std::thread runner([this] { server_ioc.run(); });
        tcp::endpoint ep(net::ip::make_address("127.0.0.1"), io->local_port());
        for (std::size_t i = 0; i < n; ++i) {
            auto ws = std::make_unique<websocket::stream<tcp::socket>>(client_ioc);
            ws->next_layer().connect(ep);
            ws->handshake("127.0.0.1", "/socket.io/?EIO=4&transport=websocket");
            boost::beast::flat_buffer b;
            ws->read(b); // Engine.IO open
            ws->write(net::buffer(std::string_view("40")));
            b.clear();
            ws->read(b); // 40{"sid":...}
            clients.push_back(std::move(ws));
        }
        // The connection handlers run after the CONNECT answer: wait for the last ones.
        while (connected.load() < n)
            std::this_thread::yield();
        guard.reset();
        server_ioc.stop();
        runner.join();
        server_ioc.restart();
        for (auto& c : clients)
            c->next_layer().non_blocking(true);
    }
    ~fanout_fixture() {
        for (auto& c : clients) {
            boost::system::error_code ec;
            c->next_layer().close(ec);
        }
        (void)io->close(); // starts at once; the poll below runs it
        server_ioc.poll();
    }
    // Discards what the clients received (raw bytes; the frames are not parsed).
    void drain() {
        char buf[65536];
        for (auto& c : clients) {
            boost::system::error_code ec;
            while (c->next_layer().read_some(net::buffer(buf), ec) > 0 && !ec) {
            }
        }
    }
};

void fanout(benchmark::State& state, sio::server_options options) {
    const auto n = static_cast<std::size_t>(state.range(0));
    fanout_fixture f(n, std::move(options));
    sio::namespace_ root = f.io->of("/");
    std::string payload(16, 'x');
    std::size_t since_drain = 0;
    for (auto _ : state) {
        root.emit("msg", payload);
        f.server_ioc.poll();
        if (++since_drain == 64) {
            state.PauseTiming();
            f.server_ioc.poll();
            f.drain();
            f.server_ioc.poll();
            since_drain = 0;
            state.ResumeTiming();
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n)); // deliveries
    state.counters["time_per_delivery"] =
        benchmark::Counter(static_cast<double>(state.iterations() * n),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void fanout_emit(benchmark::State& state) {
    fanout(state, {});
}
BENCHMARK(fanout_emit)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The same with connection state recovery on: each packet also gets its offset and is kept in the
// namespace's replay buffer (docs/connection-state-recovery.md), under the namespace's recovery lock.
void fanout_emit_recovery(benchmark::State& state) {
    sio::server_options options;
    options.connection_state_recovery = sio::connection_state_recovery_options{};
    fanout(state, std::move(options));
}
BENCHMARK(fanout_emit_recovery)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

} // namespace
