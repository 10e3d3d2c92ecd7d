// Fuzzes the incremental Socket.IO decoder. The input is a sequence of messages separated by 0xFF; a
// message whose first byte is 0x01 is a binary message (an attachment), any other a text message.
#include <sio/protocol/packet.hpp>
#include <sio/protocol/parser.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    sio::protocol::parser_limits limits;
    limits.max_attachment_bytes = 4096;
    sio::protocol::decoder decoder(limits);
    while (!rest.empty()) {
        const std::size_t end = rest.find('\xff');
        const std::string_view message = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        std::optional<sio::protocol::packet> out;
        const bool binary = !message.empty() && message[0] == '\x01';
        const auto ec =
            binary ? decoder.on_binary(std::string(message.substr(1)), out) : decoder.on_text(message, out);
        if (ec) {
            if (decoder.pending())
                std::abort(); // an error always resets the decoder
            continue;
        }
        if (out) {
            // A decoded packet encodes and decodes back to the same packet (the data's shape only: Boost.JSON
            // 1.81 parses long decimal numbers imprecisely, so a double may not survive a round trip).
            std::string text;
            sio::protocol::encode_text(*out, text);
            sio::protocol::packet again;
            std::size_t expected = 0;
            if (sio::protocol::decode_text(text, limits, again, expected) ||
                expected != out->attachments.size() || again.nsp != out->nsp || again.id != out->id ||
                again.data.kind() != out->data.kind())
                std::abort();
        }
    }
    return 0;
}
