// The delivery side of a socket for adapters, and the fan-out the library's adapters share.
#include <sio/socket_sink.hpp>

#include "access.hpp"
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

std::size_t deliver(const protocol::packet& packet, std::span<const std::shared_ptr<socket_sink>> sinks,
                    bool volatile_, bool compress) {
    if (sinks.empty())
        return 0;
    return deliver(packet, protocol::encode(packet), sinks, volatile_, compress); // encoded once
}

std::size_t deliver(const protocol::packet& packet, const protocol::encoded_packet& encoded,
                    std::span<const std::shared_ptr<socket_sink>> sinks, bool volatile_, bool compress) {
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
        if (sink->send_encoded(encoded, volatile_, compress))
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
