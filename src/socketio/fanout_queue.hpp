// Private to the library: the sliced fan-out of large broadcasts.
//
// A broadcast to many sockets is not queued to every recipient before the first write: it becomes a job of
// the io_context's fan-out queue, which a handler works through in slices of recipients, yielding to the
// io_context between slices (the writes of the slice before go out meanwhile). Consecutive broadcasts to
// the same recipients form one group, worked through recipient by recipient: each socket gets all of them
// in one slice, so their packets still leave in one write.
//
// Order per socket: a socket with deferred packets counts them (`socket_impl::deferred_packets_`); while
// that count is not zero, whatever else is sent to it (an emit, an ack, a small broadcast) joins the
// queue behind them instead of its session.
#pragma once

#include <sio/protocol/codec.hpp>
#include <sio/protocol/packet.hpp>
#include <sio/socket_sink.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>

namespace sio::detail {

/// Broadcasts to at least this many recipients are sliced (fewer are queued at once, as before).
inline constexpr std::size_t fanout_min_recipients = 256;
/// Deliveries (recipients × packets of a group) per slice, before the fan-out yields to the io_context.
inline constexpr std::size_t fanout_slice_deliveries = 2048;

/// Defers the broadcast of `encoded` (`codec.encode(packet)`) to `sinks` when they are many, or when the
/// fan-out queue of their io_context is busy (to keep the order). False: nothing was deferred, deliver
/// now. Any thread.
bool defer_fanout(const protocol::packet& packet, const protocol::packet_codec& codec,
                  const protocol::encoded_packet& encoded,
                  std::span<const std::shared_ptr<socket_sink>> sinks, bool volatile_, bool compress);

/// Queues `encoded` for `sink` behind the packets deferred for it (`sink` counts some). Any thread.
void defer_send(std::shared_ptr<socket_sink> sink, protocol::encoded_packet encoded, bool volatile_,
                bool compress);

/// Runs `action` once what the fan-out queue of `ex`'s io_context holds now has been handed to the
/// sessions (a connection closed after a large broadcast closes after it, as its queue is flushed on a
/// graceful close). `action` runs on the thread working through the queue: it dispatches to a strand
/// itself. False, and nothing done, when that queue is idle: run it now. Any thread.
bool defer_after_fanout(const boost::asio::any_io_executor& ex, std::function<void()>& action);

/// True while the calling thread works through a slice: sends go to the sessions directly.
bool in_fanout_slice() noexcept;

/// The recipients of the broadcasts this thread deferred so far (`defer_fanout`), a running count: the
/// broadcast metrics hook counts them as the broadcast's recipients (their packets are queued later).
std::size_t deferred_recipients() noexcept;

} // namespace sio::detail
