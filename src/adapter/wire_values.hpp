// Private to the library: the JSON values that every wire format of the cluster adapters shares (the
// classic Redis format, and the cluster-adapter envelope of the sharded and streams adapters): broadcast
// options, socket details with their handshake, event arrays, and the JSON-or-msgpack payload rule of
// Node's adapters. Pure functions; decoding never throws, whatever the value.
#pragma once

#include <sio/adapter/cluster.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../protocol/msgpack.hpp"

namespace sio::wire_values {

/// `["a", "b"]`.
boost::json::array string_array(const std::vector<std::string>& v);

/// JSON text of a value that carries application data: non-finite numbers become null, as Node writes them.
std::string user_json(const boost::json::value& v);

/// A room or socket id as Node may send it: a string, or a number (`io.to(123)`).
std::optional<std::string> room_name(const boost::json::value& v);

/// Appends the rooms of `v` (absent: none) to `out`; false when `v` is not an array of room names.
bool read_rooms(const boost::json::value* v, std::vector<std::string>& out);

/// `{rooms, except}`, with `flags` (volatile, compress, timeout) when `with_flags`.
boost::json::object opts_json(const broadcast_flags& f, bool with_flags);

/// Reads `{rooms, except, flags}` (absent: no filter); false when malformed. Unknown flags are ignored.
bool read_opts(const boost::json::value* v, broadcast_flags& f);

/// Node's serialised handshake (headers with lower-case names, time, address, ...).
boost::json::object handshake_json(const handshake& h);
handshake handshake_of(const boost::json::object& o);

/// `{id, handshake, rooms, data}`, one socket of a fetch answer.
boost::json::object socket_json(const socket_details& s);
/// False when `v` is not a socket object with a string id.
bool read_socket(const boost::json::value& v, socket_details& out);

/// `[event, args...]` (binary as placeholders).
boost::json::array event_data(const cluster_message& m);

/// Splits `[event, args...]` into `m.event` and `m.args`; false when it is not an event.
bool read_event(const boost::json::value* v, std::vector<std::string>&& attachments, cluster_message& m);

/// The first acknowledgement argument (responses carry one value); null when none.
boost::json::value first_arg(const arguments& a);

/// The most elements (array elements and object members, over the whole value) a payload from Redis may
/// hold, JSON or msgpack. Other servers are trusted more than clients (a `fetch_sockets` answer for thousands
/// of sockets holds hundreds of thousands), and Redis replies are capped in bytes before this.
inline constexpr std::size_t max_json_elements = 2000000;

/// The msgpack decoding caps for payloads from Redis (the same element cap as JSON's).
inline constexpr msgpack_detail::msgpack_limits redis_msgpack_limits{32, max_json_elements};

/// True when the JSON text `text` holds at most `max` array elements and object members in all (counted
/// without parsing; the text need not be valid JSON).
bool json_elements_within(std::string_view text, std::size_t max = max_json_elements);

/// Decodes a payload: JSON when it starts with `{`, msgpack otherwise (binary as placeholders appended
/// to `attachments`). JSON nesting and elements (`max_json_elements`) and msgpack sizes are capped; false
/// when it does not parse or exceeds a cap.
bool decode_payload(std::string_view payload, boost::json::value& out, std::vector<std::string>& attachments);

/// The msgpack encoding of `v` (placeholders become `bin` with the attachments' bytes).
std::string encode_msgpack(const boost::json::value& v, const std::vector<std::string>& attachments);

} // namespace sio::wire_values
