// Private to the library: the link of one server to Redis for the streams adapter, shared by the adapters
// of all its namespaces. It owns the command connection (XADD, PUBLISH, sessions), the restores' connection
// (XRANGE), the subscriber
// connection (pub/sub requests and responses) and one reading connection per stream, each looping on
// `XREAD BLOCK` from the last entry id it saw (after any error too: dialled again with back-off, it goes on
// from there). Incoming entries and messages are routed by namespace to the newest adapter of that name.
// Everything opens with the first adapter and closes with the last. Thread-safe.
#pragma once

#include <sio/adapter/redis_streams.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connection.hpp"
#include "streams_codec.hpp"

namespace sio::streams_detail {

/// Test seams (set by tests only; null in production).
struct streams_test_hooks {
    /// Called by a stream reader before it hands over entry `id` (a throw tests the reader's restart).
    /// Atomic: a test sets it while reader threads run.
    std::atomic<void (*)(const std::string& id)> before_entry{nullptr};
};
inline streams_test_hooks test_hooks;

/// A stream reader's XREAD COUNT after a reply of `entries` entries in about `reply_bytes` bytes, read with
/// `count`: twice as many (up to `max_count`) only when the reply filled the count and took at most a
/// quarter of `max_reply_bytes` (so that steady large entries do not make it bounce on the cap); otherwise
/// unchanged. (A reply too large halves it.)
std::size_t next_read_count(std::size_t count, std::size_t max_count, std::size_t entries,
                            std::size_t reply_bytes, std::size_t max_reply_bytes);

/// Whether a reader with `max_reply_bytes` / `max_reply_elements` can read a one-entry XREAD reply (RESP2)
/// of stream `stream_bytes` long, id `id_bytes` long, with `fields` field/value strings that take
/// `fields_wire_bytes` on the wire (each `$<n>\r\n<bytes>\r\n`).
bool entry_readable(std::size_t stream_bytes, std::size_t id_bytes, std::size_t fields,
                    std::size_t fields_wire_bytes, std::size_t max_reply_bytes,
                    std::size_t max_reply_elements);

/// What the link hands incoming traffic to: one namespace's adapter. Called with no lock held, while the
/// adapter's anchor is held.
class streams_receiver {
public:
    /// A stream entry of the receiver's namespace (on the stream reader's strand, in stream order).
    virtual void stream_message(cluster_message message, const std::string& entry_id) = 0;
    /// A pub/sub message of the receiver's namespace (on the subscriber's strand).
    virtual void pubsub_message(cluster_message message, std::string_view channel) = 0;

protected:
    ~streams_receiver() = default;
};

class streams_link : public std::enable_shared_from_this<streams_link> {
public:
    explicit streams_link(redis_streams_options o) : options_(std::move(o)) {}
    ~streams_link() { close_all(); }
    streams_link(const streams_link&) = delete;
    streams_link& operator=(const streams_link&) = delete;

    const redis_streams_options& options() const noexcept { return options_; }

    /// One adapter's mailbox; `target` is cleared when it detaches.
    struct endpoint {
        std::mutex mutex;
        streams_receiver* target = nullptr;
        std::weak_ptr<const void> anchor;
        std::string nsp;
        std::string stream;
        std::vector<std::string> channels;
    };

    /// Registers `target` for namespace `nsp` on `stream`, subscribing to `channels` (opening the
    /// connections on `ex` for the first adapter, and the stream's reader for the first one on it).
    /// Traffic reaches it once `anchor` is set on the endpoint.
    std::shared_ptr<endpoint> attach(streams_receiver* target, const std::string& nsp,
                                     const std::string& stream, std::vector<std::string> channels,
                                     const boost::asio::any_io_executor& ex);
    /// No traffic reaches the endpoint's target once this returns (except what is being handed over).
    void detach(const std::shared_ptr<endpoint>& e);

    std::shared_ptr<redis_detail::command_connection> commands() {
        std::lock_guard lock(mutex_);
        return commands_;
    }
    std::shared_ptr<redis_detail::subscriber_connection> subscriber() {
        std::lock_guard lock(mutex_);
        return subscriber_;
    }
    /// The connection of session restores (their XRANGE chunks do not hold up the commands' replies, and a
    /// reply too large closes only it).
    std::shared_ptr<redis_detail::command_connection> restores() {
        std::lock_guard lock(mutex_);
        return restores_;
    }

    /// True once the reader of `stream` knows where it starts (every entry added from then on is read).
    bool positioned(const std::string& stream);
    /// True while the subscriber connection is up and the reader of `stream` is connected and knows where
    /// it starts (the adapter's `connected()`, the health check).
    bool connected(const std::string& stream);
    /// The id of the last entry of `stream` its reader handed over (or where it started); empty while it
    /// does not know where it starts. Every entry up to it was handed over or came before the reader.
    std::string reader_position(const std::string& stream);

    using wake_channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, bool)>;
    /// Changes (subscriber up, a reader positioned, an adapter detached) seen so far.
    std::uint64_t changes() {
        std::lock_guard lock(mutex_);
        return changes_;
    }
    /// A channel that receives at the next change after `seen`; null when one happened already.
    std::shared_ptr<wake_channel> wait_change(const boost::asio::any_io_executor& ex, std::uint64_t seen);

    /// Counts and logs (a warning of the adapter scope, like the classic adapter's) a dropped entry or
    /// message; at most `max_drop_log_lines` lines per `drop_log_period` (each line says the total so far).
    void log_dropped(std::string_view where, std::string_view why);

private:
    struct reader;
    void wake();
    void on_pubsub(std::string_view channel, std::string_view payload);
    void on_entry(const std::string& id,
                  const std::vector<std::pair<std::string_view, std::string_view>>& fields);
    void route(decoded_message&& d, const std::string* entry_id, std::string_view channel);
    void open_connections(const boost::asio::any_io_executor& ex);
    void close_all();
    redis_detail::endpoint endpoint_of(std::chrono::milliseconds extra_timeout) const;
    /// The reader's coroutine: runs `read_entries`, and again (after a back-off, from the entry after the
    /// one being handled) when it throws.
    static boost::asio::awaitable<void> read_loop(std::shared_ptr<streams_link> self,
                                                  std::shared_ptr<reader> r);
    static boost::asio::awaitable<void> read_entries(std::shared_ptr<streams_link> self,
                                                     std::shared_ptr<reader> r);
    /// Moves the reader past the entry after its last one when it is too large to read (and only then: the
    /// one that was may have been trimmed meanwhile); false when that could not be found out.
    static boost::asio::awaitable<bool> skip_entry(std::shared_ptr<streams_link> self,
                                                   std::shared_ptr<reader> r);

    const redis_streams_options options_;
    std::mutex mutex_;
    std::vector<std::shared_ptr<endpoint>> endpoints_; // oldest first
    std::map<std::string, int> channels_;              // subscription counts
    std::map<std::string, std::shared_ptr<reader>> readers_;
    std::shared_ptr<redis_detail::command_connection> commands_;
    std::shared_ptr<redis_detail::subscriber_connection> subscriber_;
    std::shared_ptr<redis_detail::command_connection> restores_;
    std::uint64_t changes_ = 0;
    std::vector<std::shared_ptr<wake_channel>> waiters_;
    std::atomic<std::uint64_t> dropped_{0};
    static constexpr std::chrono::seconds drop_log_period{10};
    static constexpr int max_drop_log_lines = 50;
    std::chrono::steady_clock::time_point drop_log_window_{}; // under mutex_
    int drop_log_lines_ = 0;                                  // under mutex_
};

} // namespace sio::streams_detail
