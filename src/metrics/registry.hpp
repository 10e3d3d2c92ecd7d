// Private to the library: the counters behind sio's metrics (include/sio/metrics.hpp).
//
// One registry per server. Every metric is a cell (a 64-bit signed integer) in a fixed layout; a labelled
// metric is a run of cells, one per label value. The registry holds several copies of the layout
// ("shards"), each on cache lines of its own. The first `owned_shards` threads of the process that count
// get a shard each for good: its only writer, such a thread adds with a relaxed load and store (no locked
// instruction, no contention). Threads after those share the last shard with relaxed atomic additions.
// Nothing allocates. A read sums the shards: a snapshot is not atomic across cells (a connection opened
// during the read may show as opened and not yet open), which is the usual contract of such counters.
//
// The hooks in the engine and the Socket.IO layer hold a `registry*` that is null when metrics are off:
// one well-predicted branch per hook then.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace sio::metrics_detail {

/// The layout: the first cell of each metric, and its number of label values.
namespace cell {
inline constexpr std::size_t transports = 2; // engineio::transport_kind: polling, websocket
inline constexpr std::size_t close_reasons = 7;
inline constexpr std::size_t handshake_codes = 6;    // Engine.IO error codes 0-5
inline constexpr std::size_t overflow_policies = 3;  // options.hpp overflow_policy
inline constexpr std::size_t disconnect_reasons = 9; // sio::disconnect_reason
inline constexpr std::size_t recovery_results = 2;   // recovered, not recovered
inline constexpr std::size_t adapter_ops = 4;        // adapter_op
inline constexpr std::size_t fanout_buckets = 13;    // broadcast_buckets, the last one +Inf

inline constexpr std::size_t sessions_opened = 0;                                    // + transport
inline constexpr std::size_t sessions_open = sessions_opened + transports;           // gauge, + transport
inline constexpr std::size_t sessions_closed = sessions_open + transports;           // + close_reason
inline constexpr std::size_t upgrades = sessions_closed + close_reasons;             //
inline constexpr std::size_t handshake_errors = upgrades + 1;                        // + code
inline constexpr std::size_t messages_received = handshake_errors + handshake_codes; // + transport
inline constexpr std::size_t bytes_received = messages_received + transports;        // + transport
inline constexpr std::size_t messages_sent = bytes_received + transports;            // + transport
inline constexpr std::size_t bytes_sent = messages_sent + transports;                // + transport
inline constexpr std::size_t dropped_volatile = bytes_sent + transports;             //
inline constexpr std::size_t dropped_overflow = dropped_volatile + 1;                // + overflow_policy
inline constexpr std::size_t socket_connects = dropped_overflow + overflow_policies; // + recovered (0/1)
inline constexpr std::size_t socket_connect_errors = socket_connects + 2;            //
inline constexpr std::size_t socket_disconnects = socket_connect_errors + 1;         // + disconnect_reason
inline constexpr std::size_t events_received = socket_disconnects + disconnect_reasons;
inline constexpr std::size_t packets_sent = events_received + 1;
inline constexpr std::size_t acks_pending = packets_sent + 1; // gauge
inline constexpr std::size_t ack_timeouts = acks_pending + 1;
inline constexpr std::size_t broadcasts = ack_timeouts + 1;
inline constexpr std::size_t fanout_sum = broadcasts + 1;
inline constexpr std::size_t fanout_bucket = fanout_sum + 1;                    // + bucket (not cumulative)
inline constexpr std::size_t recoveries = fanout_bucket + fanout_buckets;       // + recovery_result
inline constexpr std::size_t adapter_requests = recoveries + recovery_results;  // + adapter_op
inline constexpr std::size_t adapter_timeouts = adapter_requests + adapter_ops; // + adapter_op
inline constexpr std::size_t count = adapter_timeouts + adapter_ops;
} // namespace cell

/// The upper bounds of the fan-out histogram's buckets (recipients of one broadcast on this server).
inline constexpr std::array<std::int64_t, cell::fanout_buckets - 1> broadcast_buckets{
    0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000};

/// The cluster requests the adapter counts (label `op`).
enum class adapter_op : std::uint8_t { fetch_sockets, server_side_emit, broadcast_ack, server_count };

class registry {
public:
    /// Shards owned by one thread each; one more is shared by the threads after them.
    static constexpr std::size_t owned_shards = 16;
    static constexpr std::size_t shard_count = owned_shards + 1;

    registry();

    /// Adds `n` to `c` in this thread's shard (any thread, lock-free, no allocation).
    void add(std::size_t c, std::int64_t n = 1) noexcept {
        const std::size_t s = thread_shard();
        auto& cell = shards_[s].cells[c];
        if (s < owned_shards) // this thread is the shard's only writer
            cell.store(cell.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        else
            cell.fetch_add(n, std::memory_order_relaxed);
    }
    /// This thread's count of `c` (its shard only): the broadcast hook measures its own deliveries with it.
    std::int64_t own(std::size_t c) const noexcept {
        return shards_[thread_shard()].cells[c].load(std::memory_order_relaxed);
    }
    /// One broadcast that reached `recipients` sockets of this server.
    void broadcast(std::int64_t recipients) noexcept;
    /// The sum over the shards.
    std::int64_t read(std::size_t c) const noexcept;
    std::array<std::int64_t, cell::count> read_all() const noexcept;

private:
    struct alignas(64) shard {
        std::array<std::atomic<std::int64_t>, cell::count> cells{};
    };
    /// This thread's shard: its own among the first `owned_shards` threads to count, else the shared one.
    static std::size_t thread_shard() noexcept;
    std::unique_ptr<shard[]> shards_;
};

/// The hooks' call: nothing when metrics are off (`r` null).
inline void count(registry* r, std::size_t c, std::int64_t n = 1) noexcept {
    if (r) [[unlikely]]
        r->add(c, n);
}

} // namespace sio::metrics_detail
