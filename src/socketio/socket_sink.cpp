// The delivery side of a socket for adapters, and the fan-out the library's adapters share.
#include <sio/adapter_host.hpp>
#include <sio/socket_sink.hpp>

#include <utility>
#include <vector>

#include "access.hpp"
#include "fanout_queue.hpp"
#include "socket_state.hpp"

namespace sio {

std::shared_ptr<const outgoing_event> outgoing_event::of(const protocol::packet& packet) {
    const auto& values = packet.data.as_array();
    outgoing_event ev;
    ev.name = std::string(values.front().as_string());
    ev.args.values = boost::json::array(values.begin() + 1, values.end());
    ev.args.attachments = packet.attachments;
    return std::make_shared<const outgoing_event>(std::move(ev));
}

std::shared_ptr<socket_sink> socket_sink::of(const socket& s) {
    return detail::access::state(s);
}

namespace {
const protocol::packet_codec& default_codec() noexcept {
    static const auto json = protocol::json_parser();
    return *json;
}
} // namespace

const protocol::packet_codec& socket_sink::codec() const noexcept {
    return default_codec();
}

const protocol::packet_codec& adapter_host::codec() const noexcept {
    return default_codec();
}

std::size_t deliver(const protocol::packet& packet, std::span<const std::shared_ptr<socket_sink>> sinks,
                    bool volatile_, bool compress) {
    if (sinks.empty())
        return 0;
    // Once, whatever the number of recipients.
    const protocol::packet_codec& codec = sinks.front()->codec();
    return deliver(packet, codec, codec.encode(packet), sinks, volatile_, compress);
}

std::size_t deliver(const protocol::packet& packet, const protocol::packet_codec& codec,
                    const protocol::encoded_packet& encoded,
                    std::span<const std::shared_ptr<socket_sink>> sinks, bool volatile_, bool compress) {
    // A large fan-out is worked through in slices (fanout_queue.hpp), not queued here at once.
    if (detail::defer_fanout(packet, codec, encoded, sinks, volatile_, compress))
        return sinks.size();
    // The sinks of one namespace share their server's codec; a sink with another codec (an adapter shared
    // by servers with different parsers) gets its own encoding, once per codec.
    std::vector<std::pair<const protocol::packet_codec*, protocol::encoded_packet>> others;
    auto encoded_for = [&](const socket_sink& sink) -> const protocol::encoded_packet& {
        const protocol::packet_codec& c = sink.codec();
        if (&c == &codec)
            return encoded;
        for (const auto& [known, e] : others)
            if (known == &c)
                return e;
        return others.emplace_back(&c, c.encode(packet)).second;
    };
    std::shared_ptr<const outgoing_event> outgoing;
    std::size_t sent = 0;
    for (const auto& sink : sinks) {
        if (!sink->connected())
            continue;
        if (sink->has_outgoing_listeners()) { // like the reference adapter's notifyOutgoingListeners
            if (!outgoing)
                outgoing = outgoing_event::of(packet);
            sink->notify_outgoing(outgoing);
        }
        if (sink->send_encoded(encoded_for(*sink), volatile_, compress))
            ++sent;
    }
    return sent;
}

std::size_t deliver_with_ack(const protocol::packet& packet,
                             std::span<const std::shared_ptr<socket_sink>> sinks,
                             std::optional<std::chrono::milliseconds> timeout, bool compress,
                             std::function<void(ack_result)> on_ack) {
    auto shared_on_ack = std::make_shared<std::function<void(ack_result)>>(std::move(on_ack));
    std::shared_ptr<const outgoing_event> outgoing;
    for (const auto& sink : sinks) {
        if (sink->has_outgoing_listeners()) {
            if (!outgoing)
                outgoing = outgoing_event::of(packet);
            sink->notify_outgoing(outgoing);
        }
        sink->start_ack(packet, timeout, compress,
                        [shared_on_ack](ack_result r) { (*shared_on_ack)(std::move(r)); });
    }
    return sinks.size();
}

} // namespace sio
