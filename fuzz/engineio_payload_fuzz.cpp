// Fuzzes the polling payload decoder with a small packet cap.
#include <sio/engineio/packet.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    std::vector<sio::engineio::packet> packets;
    const auto ec = sio::engineio::decode_payload(payload, 64, packets);
    if (packets.size() > 64)
        std::abort();
    if (!ec) {
        std::vector<sio::engineio::packet> again;
        if (sio::engineio::decode_payload(sio::engineio::encode_payload(packets), 64, again) ||
            again != packets)
            std::abort();
    }
    return 0;
}
