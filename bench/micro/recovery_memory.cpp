// Memory per packet kept by connection state recovery: a sio::server with recovery on and no client;
// `io.emit("msg", payload)` keeps each packet in the namespace's replay buffer (there is nobody to deliver
// it to). The heap in use (mallinfo2) before and after, divided by the packets kept, is reported as
// `heap_bytes_per_packet`, for a 16-byte payload to every socket and for a room emit.
// `recovery_memory_under_flood`: 50 times the packet bound (or the byte bound) emitted: the heap once the
// buffer is full and at the end (`heap_full_bytes`, `heap_end_bytes`) must be the same: a flood while
// clients are away costs the bounds, not the flood. `peak_rss_growth_bytes`: the process's peak resident
// size during the flood (VmHWM, reset before it through /proc/self/clear_refs) less its size before.
#include <sio/sio.hpp>

#include <boost/asio/io_context.hpp>

#include <fstream>
#include <string>

#include <benchmark/benchmark.h>
#include <malloc.h>

namespace {

/// A field of /proc/self/status in bytes (`VmRSS`, `VmHWM`); 0 when unreadable.
double status_bytes(const std::string& field) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(field + ":"))
            return std::stod(line.substr(field.size() + 1)) * 1024; // "VmHWM:    1234 kB"
    return 0;
}

/// Resets the peak resident size to the current one (Linux 4.0+); false when refused.
bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

void recovery_memory_per_packet(benchmark::State& state) {
    const auto packets = static_cast<std::size_t>(state.range(0));
    const bool to_room = state.range(1) != 0;
    const std::string payload(16, 'x');
    double per_packet = 0;
    for (auto _ : state) {
        boost::asio::io_context ioc(1);
        sio::server_options options;
        options.connection_state_recovery = sio::connection_state_recovery_options{};
        options.connection_state_recovery->max_buffered_packets = packets; // the bound is what we fill
        options.connection_state_recovery->max_buffered_bytes = std::size_t{1} << 34;
        sio::server io(ioc.get_executor(), std::move(options));
        sio::namespace_ root = io.of("/");
        root.emit("warm-up", payload);
        malloc_trim(0);
        const auto before = mallinfo2().uordblks;
        for (std::size_t i = 0; i < packets; ++i) {
            if (to_room)
                root.to("room").emit("msg", payload);
            else
                root.emit("msg", payload);
        }
        const auto after = mallinfo2().uordblks;
        per_packet =
            (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(packets);
        state.PauseTiming();
        (void)io.close(); // starts at once; the poll below runs it
        ioc.poll();
        state.ResumeTiming();
    }
    state.counters["heap_bytes_per_packet"] = per_packet;
}
BENCHMARK(recovery_memory_per_packet)
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void recovery_memory_under_flood(benchmark::State& state) {
    const bool by_bytes = state.range(0) != 0;
    const std::size_t cap_packets = by_bytes ? 1'000'000 : 2000;
    const std::size_t cap_bytes = by_bytes ? 256 * 1024 : std::size_t{1} << 34;
    const std::string payload(100, 'x');
    double full = 0, end = 0, peak = 0;
    for (auto _ : state) {
        boost::asio::io_context ioc(1);
        sio::server_options options;
        options.connection_state_recovery = sio::connection_state_recovery_options{};
        options.connection_state_recovery->max_buffered_packets = cap_packets;
        options.connection_state_recovery->max_buffered_bytes = cap_bytes;
        sio::server io(ioc.get_executor(), std::move(options));
        sio::namespace_ root = io.of("/");
        root.emit("warm-up", payload);
        malloc_trim(0);
        const auto before = static_cast<double>(mallinfo2().uordblks);
        const bool peak_known = reset_peak_rss();
        const double rss_before = status_bytes("VmRSS");
        const std::size_t fill = by_bytes ? 4000 : cap_packets; // either is past the bound
        for (std::size_t i = 0; i < fill; ++i)
            root.emit("msg", payload);
        full = static_cast<double>(mallinfo2().uordblks) - before;
        for (std::size_t i = 0; i < 50 * fill; ++i)
            root.emit("msg", payload);
        end = static_cast<double>(mallinfo2().uordblks) - before;
        peak = peak_known ? status_bytes("VmHWM") - rss_before : -1;
        state.PauseTiming();
        (void)io.close(); // starts at once; the poll below runs it
        ioc.poll();
        state.ResumeTiming();
    }
    state.counters["heap_full_bytes"] = full;
    state.counters["heap_end_bytes"] = end;
    state.counters["peak_rss_growth_bytes"] = peak;
}
BENCHMARK(recovery_memory_under_flood)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

} // namespace
