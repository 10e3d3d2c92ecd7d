// Fuzzes the server's WebSocket frame parser: any byte stream, fed whole or in two pieces, ends in a
// status (never a crash), the bytes kept stay under the cap, and the split does not change the outcome.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "engineio/ws_frame.hpp"

using namespace sio::engineio::detail;

namespace {

constexpr std::size_t max_message = 4096;

struct outcome {
    std::vector<std::pair<ws_opcode, std::string>> events;
    frame_parser::status status = frame_parser::status::ok;
};

outcome run(std::string bytes, std::size_t split) {
    frame_parser parser(max_message, 4096);
    outcome out;
    auto handler = [&](const frame_parser::event& e) {
        if (e.payload.size() > max_message)
            std::abort();
        if (e.op == ws_opcode::text && !valid_utf8(e.payload))
            std::abort();
        out.events.emplace_back(e.op, std::string(e.payload));
        return true;
    };
    out.status = parser.feed(bytes.data(), split, handler);
    if (out.status == frame_parser::status::ok)
        out.status = parser.feed(bytes.data() + split, bytes.size() - split, handler);
    if (parser.buffered() > 2 * max_message + 14)
        std::abort();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
    const auto whole = run(bytes, bytes.size());
    const auto parts = run(bytes, split);
    if (whole.status != parts.status || whole.events != parts.events)
        std::abort();
    return 0;
}
