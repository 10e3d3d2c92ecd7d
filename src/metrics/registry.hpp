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
inline constexpr std::size_t duration_buckets = 14;  // session_duration_buckets, the last one +Inf
inline constexpr std::size_t rtt_buckets = 15;       // ping_rtt_buckets, the last one +Inf

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
// Histograms by transport: transport * buckets + bucket (not cumulative), and a sum per transport.
inline constexpr std::size_t session_duration_bucket = adapter_timeouts + adapter_ops;
inline constexpr std::size_t session_duration_sum = // + transport, in milliseconds
    session_duration_bucket + transports * duration_buckets;
inline constexpr std::size_t ping_rtt_bucket = session_duration_sum + transports;
inline constexpr std::size_t ping_rtt_sum = ping_rtt_bucket + transports * rtt_buckets; // + transport, µs
inline constexpr std::size_t count = ping_rtt_sum + transports;
} // namespace cell

/// The upper bounds of the fan-out histogram's buckets (recipients of one broadcast on this server).
inline constexpr std::array<std::int64_t, cell::fanout_buckets - 1> broadcast_buckets{
    0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000};

/// The upper bounds of the session duration histogram's buckets, in milliseconds (0.01 s to one day).
inline constexpr std::array<std::int64_t, cell::duration_buckets - 1> session_duration_buckets{
    10,      100,       1'000,     10'000,     30'000,     60'000,    300'000,
    600'000, 1'800'000, 3'600'000, 10'800'000, 43'200'000, 86'400'000};
/// The upper bounds of the ping round-trip histogram's buckets, in microseconds (0.5 ms to 10 s).
inline constexpr std::array<std::int64_t, cell::rtt_buckets - 1> ping_rtt_buckets{
    500,     1'000,   2'500,   5'000,     10'000,    25'000,    50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

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
    /// Adds `n1` to `c1` and `n2` to `c2`, with one look-up of this thread's shard.
    void add(std::size_t c1, std::int64_t n1, std::size_t c2, std::int64_t n2) noexcept {
        const std::size_t s = thread_shard();
        auto& cells = shards_[s].cells;
        if (s < owned_shards) {
            cells[c1].store(cells[c1].load(std::memory_order_relaxed) + n1, std::memory_order_relaxed);
            cells[c2].store(cells[c2].load(std::memory_order_relaxed) + n2, std::memory_order_relaxed);
        } else {
            cells[c1].fetch_add(n1, std::memory_order_relaxed);
            cells[c2].fetch_add(n2, std::memory_order_relaxed);
        }
    }
    /// One broadcast that reached `recipients` sockets of this server.
    void broadcast(std::int64_t recipients) noexcept;
    /// One observation of `value` in the histogram whose buckets (`bounds.size() + 1` cells, the last
    /// one +Inf) start at cell `first_bucket` and whose sum is cell `sum`.
    template <std::size_t N>
    void observe(std::size_t first_bucket, std::size_t sum, const std::array<std::int64_t, N>& bounds,
                 std::int64_t value) noexcept {
        std::size_t bucket = 0;
        while (bucket < N && value > bounds[bucket])
            ++bucket;
        add(first_bucket + bucket);
        add(sum, value);
    }
    /// A session of transport `t` (its index) closed after `ms` milliseconds.
    void session_duration(std::size_t t, std::int64_t ms) noexcept {
        observe(cell::session_duration_bucket + t * cell::duration_buckets, cell::session_duration_sum + t,
                session_duration_buckets, ms);
    }
    /// A pong of a session of transport `t` came `us` microseconds after the server's ping.
    void ping_rtt(std::size_t t, std::int64_t us) noexcept {
        observe(cell::ping_rtt_bucket + t * cell::rtt_buckets, cell::ping_rtt_sum + t, ping_rtt_buckets, us);
    }
    /// The sum over the shards.
    std::int64_t read(std::size_t c) const noexcept;
    std::array<std::int64_t, cell::count> read_all() const noexcept;

private:
    struct alignas(64) shard {
        std::array<std::atomic<std::int64_t>, cell::count> cells{};
    };
    /// This thread's shard: its own among the first `owned_shards` threads to count, else the shared one.
    /// Inline, on a constant-initialized thread_local (no call and no TLS guard on the hot path).
    static std::size_t thread_shard() noexcept {
        if (thread_shard_ == unassigned) [[unlikely]]
            thread_shard_ = assign_shard();
        return thread_shard_;
    }
    static constexpr std::size_t unassigned = ~std::size_t{0};
    static constinit inline thread_local std::size_t thread_shard_ = unassigned;
    static std::size_t assign_shard() noexcept;
    std::unique_ptr<shard[]> shards_;
};

/// The hooks' call: nothing when metrics are off (`r` null).
inline void count(registry* r, std::size_t c, std::int64_t n = 1) noexcept {
    if (r) [[unlikely]]
        r->add(c, n);
}

/// The packets this thread sent for one registry while a `sent_tally` of it was open: the sends add one to
/// a thread_local count (one instruction), and the tally adds the total to the registry in one addition.
struct open_tally {
    registry* r = nullptr;
    std::int64_t packets = 0;
};
inline constinit thread_local open_tally current_tally{};

/// One Socket.IO packet queued for a client of `r`'s server (null: metrics off): in `r`'s open tally on
/// this thread if there is one, else straight into `cell::packets_sent`.
inline void count_packet_sent(registry* r) noexcept {
    if (r) [[unlikely]] {
        if (r == current_tally.r)
            ++current_tally.packets;
        else
            r->add(cell::packets_sent);
    }
}

/// A broadcast's packets counted in one addition: while it is open, the packets this thread sends for `r`
/// are tallied (`count_packet_sent`); `close()` (or the destructor) adds them to `cell::packets_sent` and
/// returns their number: the broadcast's recipients on this server. Tallies nest (an inner one of the same
/// registry counts its own packets, not the outer one's). Thread-confined: open and close on one thread.
class sent_tally {
public:
    explicit sent_tally(registry& r) noexcept : r_(r), outer_(current_tally) { current_tally = {&r, 0}; }
    sent_tally(const sent_tally&) = delete;
    sent_tally& operator=(const sent_tally&) = delete;
    ~sent_tally() { close(); }

    std::int64_t close() noexcept {
        if (closed_)
            return 0;
        closed_ = true;
        const std::int64_t n = current_tally.packets;
        current_tally = outer_;
        if (n != 0)
            r_.add(cell::packets_sent, n);
        return n;
    }

private:
    registry& r_;
    open_tally outer_;
    bool closed_ = false;
};

} // namespace sio::metrics_detail
