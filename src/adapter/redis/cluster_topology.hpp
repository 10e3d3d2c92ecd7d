// Private to the library: what a client of a Redis Cluster computes without I/O. The hash slot of a key
// or a shard channel (CRC16 mod 16384, with `{...}` hash tags), the slot map read from a `CLUSTER SLOTS`
// reply (which master serves which slots), and the `-MOVED` / `-ASK` redirections. Pure functions;
// every count and length from the wire is checked before use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resp_reader.hpp"

namespace sio::redis_detail {

/// A Redis Cluster has 16384 hash slots.
inline constexpr std::uint16_t cluster_slots = 16384;

/// The slot of `key` (a key or a shard channel): CRC16 (XMODEM) of the key, or of the text between the
/// first `{` and the next `}` when that text is not empty, mod 16384.
std::uint16_t key_slot(std::string_view key) noexcept;

/// One node as the cluster names it.
struct cluster_node {
    std::string host;
    std::uint16_t port = 0;
    std::string address() const { return host + ":" + std::to_string(port); }
    friend bool operator==(const cluster_node&, const cluster_node&) = default;
};

/// Which master serves which slots.
class cluster_topology {
public:
    /// The master serving `slot`, or null when no node serves it (a cluster being set up or broken).
    const cluster_node* owner(std::uint16_t slot) const noexcept;
    /// The distinct masters, in the order of their first slot range.
    const std::vector<cluster_node>& masters() const noexcept { return masters_; }
    /// True when every slot is served.
    bool complete() const noexcept;

    /// Reads a `CLUSTER SLOTS` reply: an array of `[start, end, [host, port, id, ...], replicas...]`.
    /// An empty, NULL or `?` host (a node that does not know its address) is `asked_host`, the host the
    /// command was sent to. Nullopt for anything else: not an array, a range outside 0..16383 or reversed, a
    /// host longer than 255 bytes, a port outside 1..65535, more than `max_masters` masters.
    static std::optional<cluster_topology> from_slots_reply(const reply& r, std::string_view asked_host);

    static constexpr std::size_t max_masters = 1000;

private:
    std::vector<cluster_node> masters_;
    /// The master of each slot: an index into masters_, or `none`.
    std::vector<std::uint16_t> owner_of_;
    static constexpr std::uint16_t none = 0xffff;
};

/// A `-MOVED <slot> <host>:<port>` or `-ASK <slot> <host>:<port>` error reply.
struct cluster_redirect {
    enum class kind { moved, ask } type = kind::moved;
    std::uint16_t slot = 0;
    cluster_node to;
};

/// The redirection an error reply's text carries (without the leading `-`), or nullopt when it is not
/// one (or is malformed: a slot outside 0..16383, a port outside 1..65535, an empty or oversized host).
/// An empty host (`MOVED 3999 :6380`) is `asked_host`: the host of the node that sent the redirection.
std::optional<cluster_redirect> parse_redirect(std::string_view error, std::string_view asked_host);

/// True for the error replies of a node whose cluster cannot serve the slot right now (`CLUSTERDOWN`,
/// `TRYAGAIN`): the topology is asked again later.
bool is_cluster_unavailable(std::string_view error) noexcept;

/// True for the error reply of a standalone Redis to a CLUSTER command ("ERR This instance has cluster
/// support disabled"), which makes a client treat the node as the only one.
bool is_cluster_disabled(std::string_view error) noexcept;

} // namespace sio::redis_detail
