// Fuzzes the Engine.IO v3 payload decoders (text and binary framing) and the v3 packet decoders with a
// small packet cap; what decodes must survive a round trip through the encoders.
#include <sio/engineio/packet_v3.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

void check(const std::vector<sio::engineio::packet>& packets) {
    using namespace sio::engineio;
    if (packets.empty()) // "0:" decodes to no packet (empty records are skipped); an empty payload is refused
        return;
    std::vector<packet> again;
    if (v3::decode_payload(v3::encode_payload(packets), 64, again) || again != packets)
        std::abort();
    std::vector<packet> binary;
    if (v3::decode_binary_payload(v3::encode_binary_payload(packets), 64, binary) || binary != packets)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sio::engineio;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<packet> packets;
    if (!v3::decode_payload(input, 64, packets))
        check(packets);
    if (packets.size() > 64)
        std::abort();
    packets.clear();
    if (!v3::decode_binary_payload(input, 64, packets))
        check(packets);
    if (packets.size() > 64)
        std::abort();
    packet p;
    (void)v3::decode_packet(input, p);
    (void)v3::decode_binary_packet(input, p);
    return 0;
}
