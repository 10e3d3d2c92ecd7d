// Client WebSocket frames, byte for byte, for tests that speak the wire format themselves (the loopback
// clients, the frame parser's unit test). Header-only; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sio_test {

// WebSocket opcodes.
constexpr int op_cont = 0x0, op_text = 0x1, op_binary = 0x2, op_close = 0x8, op_ping = 0x9, op_pong = 0xa;

/// One client frame, byte for byte. `declared_length` overrides the length field (nothing more is sent).
inline std::string frame(int opcode, std::string_view data, bool fin = true, int rsv = 0, bool masked = true,
                         std::optional<std::uint64_t> declared_length = std::nullopt) {
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f)));
    const std::uint64_t len = declared_length.value_or(data.size());
    const unsigned mask_bit = masked ? 0x80u : 0u;
    if (len < 126) {
        out.push_back(static_cast<char>(mask_bit | len));
    } else if (len <= 0xffff) {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>(len >> 8));
        out.push_back(static_cast<char>(len & 0xff));
    } else {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int i = 7; i >= 0; --i)
            out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    }
    const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked)
        out.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < data.size(); ++i)
        out.push_back(masked ? static_cast<char>(data[i] ^ static_cast<char>(key[i % 4])) : data[i]);
    return out;
}

} // namespace sio_test
