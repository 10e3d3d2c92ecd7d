// Private to the library: the EVENT packet of an emit, built from an event name and its arguments.
#pragma once

#include <sio/protocol/packet.hpp>
#include <sio/value.hpp>

#include <boost/json/array.hpp>

#include <string_view>
#include <utility>

namespace sio::detail {

/// An EVENT packet `[event, args...]` for namespace `nsp` (binary attachments move along).
inline protocol::packet make_event_packet(std::string_view nsp, std::string_view event, arguments&& args) {
    protocol::packet p;
    p.type = protocol::packet_type::event;
    p.nsp = nsp;
    boost::json::array values;
    values.reserve(args.values.size() + 1);
    values.emplace_back(event);
    for (auto& v : args.values)
        values.push_back(std::move(v));
    p.data = std::move(values);
    p.attachments = std::move(args.attachments);
    return p;
}

} // namespace sio::detail
