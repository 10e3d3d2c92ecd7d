// The default parser behind the codec interface: socket.io-parser's text format (parser.cpp).
#include <sio/protocol/codec.hpp>

namespace sio::protocol {
namespace {

class json_decoder final : public packet_decoder {
public:
    explicit json_decoder(const parser_limits& limits) : decoder_(limits) {}

    std::error_code on_message(std::string data, bool binary, std::optional<packet>& out) override {
        return binary ? decoder_.on_binary(std::move(data), out) : decoder_.on_text(data, out);
    }
    bool pending() const noexcept override { return decoder_.pending(); }
    void reset() noexcept override { decoder_.reset(); }

private:
    decoder decoder_;
};

class json_codec final : public packet_codec {
public:
    std::string_view name() const noexcept override { return "json"; }
    encoded_packet encode(const packet& p) const override { return protocol::encode(p); }
    std::unique_ptr<packet_decoder> make_decoder(const parser_limits& limits) const override {
        return std::make_unique<json_decoder>(limits);
    }
};

} // namespace

std::shared_ptr<const packet_codec> json_parser() {
    static const auto instance = std::make_shared<const json_codec>();
    return instance;
}

} // namespace sio::protocol
