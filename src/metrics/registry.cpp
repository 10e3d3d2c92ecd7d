#include "registry.hpp"

namespace sio::metrics_detail {

registry::registry() : shards_(std::make_unique<shard[]>(shard_count)) {}

std::size_t registry::assign_shard() noexcept {
    static std::atomic<std::size_t> next{0};
    const std::size_t n = next.fetch_add(1, std::memory_order_relaxed);
    return n < owned_shards ? n : owned_shards;
}

void registry::broadcast(std::int64_t recipients) noexcept {
    add(cell::broadcasts);
    observe(cell::fanout_bucket, cell::fanout_sum, broadcast_buckets, recipients);
}

std::int64_t registry::read(std::size_t c) const noexcept {
    std::int64_t sum = 0;
    for (std::size_t s = 0; s < shard_count; ++s)
        sum += shards_[s].cells[c].load(std::memory_order_relaxed);
    return sum;
}

std::array<std::int64_t, cell::count> registry::read_all() const noexcept {
    std::array<std::int64_t, cell::count> out{};
    for (std::size_t s = 0; s < shard_count; ++s)
        for (std::size_t c = 0; c < cell::count; ++c)
            out[c] += shards_[s].cells[c].load(std::memory_order_relaxed);
    return out;
}

} // namespace sio::metrics_detail
