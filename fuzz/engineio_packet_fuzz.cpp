// Fuzzes the Engine.IO packet decoder: any input either fails cleanly or round-trips.
#include <sio/engineio/packet.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    sio::engineio::packet p;
    if (sio::engineio::decode_packet(text, p))
        return 0;
    // A decoded packet re-encodes to something that decodes to the same packet.
    sio::engineio::packet again;
    if (sio::engineio::decode_packet(sio::engineio::encode_text(p), again) || !(again == p))
        std::abort();
    return 0;
}
