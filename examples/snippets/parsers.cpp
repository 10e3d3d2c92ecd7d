// Snippets of docs/parsers.md.
#include <sio/sio.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "snippets.hpp"

namespace snippets {

sio::server_options msgpack_options() {
    // [snippet parser-msgpack]
    sio::server_options options;
    options.parser = sio::protocol::msgpack_parser(); // clients: socket.io.msgpack.min.js
    options.parser.max_attachments = 20;              // the limits stay where they are
    // [end]
    return options;
}

// [snippet parser-custom]
/// The JSON parser's format, counting the packets it encodes (a broadcast counts once).
class counting_parser : public sio::protocol::packet_codec {
public:
    std::string_view name() const noexcept override { return "counting-json"; }
    sio::protocol::encoded_packet encode(const sio::protocol::packet& p) const override {
        encoded_.fetch_add(1, std::memory_order_relaxed); // called from any thread
        return inner_->encode(p);
    }
    std::unique_ptr<sio::protocol::packet_decoder>
    make_decoder(const sio::protocol::parser_limits& limits) const override {
        return inner_->make_decoder(limits); // one per connection, used on its strand
    }
    std::uint64_t encoded() const noexcept { return encoded_.load(std::memory_order_relaxed); }

private:
    std::shared_ptr<const sio::protocol::packet_codec> inner_ = sio::protocol::json_parser();
    mutable std::atomic<std::uint64_t> encoded_{0};
};
// [end]

sio::server_options custom_parser_options() {
    // [snippet parser-use-custom]
    sio::server_options options;
    options.parser = std::make_shared<const counting_parser>();
    // [end]
    return options;
}

} // namespace snippets
