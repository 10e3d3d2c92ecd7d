// sio — the delivery side of a socket, for adapters: what an adapter may do with one socket of this server
// (send a packet it encoded once, start an acknowledgement, tell the `on_any_outgoing` listeners), and the
// fan-out that the library's own adapters use, so that an adapter of your own broadcasts the same way.
//
// An adapter gets each socket of its namespace in `adapter::add_socket`; `socket_sink::of(s)` gives its
// sink, which the adapter keeps in its room table. A broadcast encodes its packet once (with the sinks'
// `codec()`, the server's parser) and hands the same encoded messages to every selected sink: the cost
// per recipient is a queue push, not an encode.
#pragma once

#include <sio/config.hpp>
#include <sio/protocol/codec.hpp>
#include <sio/protocol/packet.hpp>
#include <sio/socket.hpp>
#include <sio/value.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace sio {

/// An outgoing event as the `on_any_outgoing` listeners see it (name, arguments). A broadcast builds it
/// once and shares it between its recipients.
struct outgoing_event {
    std::string name;
    arguments args;

    /// The event of an EVENT packet `[name, args...]`: the arguments are copied, the attachments shared.
    static std::shared_ptr<const outgoing_event> of(const protocol::packet& packet);
};

/// One socket of this server as an adapter sees it. The library implements it for every `sio::socket`;
/// tests implement it with fakes.
///
/// Thread safety: every member may be called from any thread, under the adapter's own locks (none of them
/// runs application code inline: listeners and acknowledgement callbacks run later, on the socket's strand).
///
/// Lifetime: a sink is owned through `std::shared_ptr`; holding one keeps the socket's memory, not its
/// connection. Once the socket has disconnected (`connected()` false), `send_encoded` returns false and
/// sends nothing, `start_ack` completes with `error::not_connected`, and `notify_outgoing` does nothing.
class socket_sink {
public:
    /// The sink of a socket of this server; null for an empty handle.
    static std::shared_ptr<socket_sink> of(const socket& s);

    /// The socket id (the name of its own room).
    virtual const std::string& id() const noexcept = 0;
    /// False once the socket has left its namespace.
    virtual bool connected() const noexcept = 0;
    /// The socket's strand: where its handlers, listeners and acknowledgement callbacks run.
    virtual boost::asio::any_io_executor executor() const noexcept = 0;
    /// The socket handle, for the adapter members that return sockets (`local_sockets`, `fetch_sockets`);
    /// an empty handle when the sink is not a socket of the library (a test's fake).
    virtual socket handle() const = 0;

    /// The packet codec of the socket's server (`server_options::parser`): what `send_encoded` packets must
    /// be encoded with. The default implementation (for sinks that are not sockets of a server, such as a
    /// test's fake) returns the JSON parser. The reference stays valid as long as the sink.
    virtual const protocol::packet_codec& codec() const noexcept;
    /// Queues a packet encoded by `codec().encode` (its namespace must be the socket's) as one unit: the
    /// text message if any, then its binary messages. Returns false when the socket is not connected or the
    /// packet was dropped (a volatile packet on a busy transport, or a full queue:
    /// `engine_options::on_overflow`).
    virtual bool send_encoded(const protocol::encoded_packet& packet, bool volatile_, bool compress) = 0;
    /// Gives `packet` (an EVENT of the socket's namespace) this socket's next ack id, sends it, and calls
    /// `done` once on the socket's strand: with the client's answer, `error::ack_timeout` after `timeout`,
    /// or `error::not_connected` when the socket is (or goes) away. Each recipient of a broadcast with
    /// acknowledgements has its own ack id, so the packet is encoded per recipient here.
    virtual void start_ack(protocol::packet packet, std::optional<std::chrono::milliseconds> timeout,
                           bool compress, std::function<void(ack_result)> done) = 0;
    /// True when the socket has `on_any_outgoing` listeners (a relaxed hint: check it to skip building
    /// the event).
    virtual bool has_outgoing_listeners() const noexcept = 0;
    /// Runs the socket's `on_any_outgoing` listeners with `event`, on the socket's strand (at once when
    /// called there). Call it before sending, like the reference's `notifyOutgoingListeners`.
    virtual void notify_outgoing(std::shared_ptr<const outgoing_event> event) = 0;

protected:
    ~socket_sink() = default;
};

/// Sends an EVENT packet (its namespace set) to `sinks` the way the library's adapters broadcast: encoded
/// once (per codec); for each connected sink the `on_any_outgoing` listeners are told, then it is queued.
/// To 256 sinks or more this runs later, in slices on the sinks' io_context, each socket's order kept
/// (docs/broadcasting.md). Returns the number of sinks that queued it (sliced: of sinks). Any thread.
std::size_t deliver(const protocol::packet& packet, std::span<const std::shared_ptr<socket_sink>> sinks,
                    bool volatile_, bool compress);

/// Same as `deliver`, with the packet already encoded by `codec` (`encoded` is `codec.encode(packet)`, the
/// codec of the namespace's server): for an adapter that needs the encoding itself (the replay buffer of
/// connection state recovery keeps it). A sink with another codec gets its own encoding.
std::size_t deliver(const protocol::packet& packet, const protocol::packet_codec& codec,
                    const protocol::encoded_packet& encoded,
                    std::span<const std::shared_ptr<socket_sink>> sinks, bool volatile_, bool compress);

/// Sends an EVENT packet with an ack id to each of `sinks` (`socket_sink::start_ack`), telling the
/// `on_any_outgoing` listeners first. `on_ack` runs once per sink, on that sink's strand, possibly
/// concurrently for different sinks: it must be thread-safe. Returns the number of sinks, which is the
/// number of `on_ack` calls to expect. Any thread.
std::size_t deliver_with_ack(const protocol::packet& packet,
                             std::span<const std::shared_ptr<socket_sink>> sinks,
                             std::optional<std::chrono::milliseconds> timeout, bool compress,
                             std::function<void(ack_result)> on_ack);

} // namespace sio
