// Micro-benchmarks of the codecs on the hot paths: Socket.IO decode/encode, Engine.IO framing.
#include <sio/engineio/packet.hpp>
#include <sio/protocol/packet.hpp>
#include <sio/protocol/parser.hpp>

#include <boost/json/value.hpp>

#include <optional>
#include <string>

#include <benchmark/benchmark.h>

namespace {

std::string payload(std::size_t n) {
    return std::string(n, 'x');
}

// An incoming emit-with-ack: 42<id>["echo","xxx",7]
void sio_decode_event_with_ack(benchmark::State& state) {
    std::string text = "42123[\"echo\",\"" + payload(static_cast<std::size_t>(state.range(0))) + "\",7]";
    sio::protocol::decoder dec;
    for (auto _ : state) {
        std::optional<sio::protocol::packet> out;
        auto ec = dec.on_text(text, out);
        benchmark::DoNotOptimize(ec);
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(sio_decode_event_with_ack)->Arg(16)->Arg(1024);

sio::protocol::packet event_packet(std::size_t n, std::optional<std::uint64_t> id) {
    sio::protocol::packet p;
    p.type = id ? sio::protocol::packet_type::ack : sio::protocol::packet_type::event;
    p.id = id;
    boost::json::array a;
    if (!id)
        a.emplace_back("msg");
    a.emplace_back(payload(n));
    p.data = std::move(a);
    return p;
}

// The broadcast packet 42["msg","xxx"] encoded into its shared wire form (once per broadcast).
void sio_encode_event(benchmark::State& state) {
    auto p = event_packet(static_cast<std::size_t>(state.range(0)), std::nullopt);
    for (auto _ : state) {
        auto e = sio::protocol::encode(p);
        benchmark::DoNotOptimize(e);
    }
}
BENCHMARK(sio_encode_event)->Arg(16)->Arg(1024);

// An ack 43<id>["xxx"] appended to a reused string (once per echo).
void sio_encode_text_ack(benchmark::State& state) {
    auto p = event_packet(static_cast<std::size_t>(state.range(0)), 123);
    std::string out;
    for (auto _ : state) {
        out.clear();
        sio::protocol::encode_text(p, out);
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(sio_encode_text_ack)->Arg(16)->Arg(1024);

// Engine.IO: a text message framed as 4<data>.
void eio_append_text_message(benchmark::State& state) {
    std::string data = "2[\"msg\",\"" + payload(static_cast<std::size_t>(state.range(0))) + "\"]";
    std::string out;
    for (auto _ : state) {
        out.clear();
        sio::engineio::append_text(out, sio::engineio::packet_type::message, false, data);
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(eio_append_text_message)->Arg(16)->Arg(1024);

void eio_decode_packet(benchmark::State& state) {
    std::string text = "42[\"msg\",\"" + payload(static_cast<std::size_t>(state.range(0))) + "\"]";
    for (auto _ : state) {
        sio::engineio::packet p;
        auto ec = sio::engineio::decode_packet(text, p);
        benchmark::DoNotOptimize(ec);
        benchmark::DoNotOptimize(p);
    }
}
BENCHMARK(eio_decode_packet)->Arg(16)->Arg(1024);

} // namespace
