// Private to the library: the count and the rate-limited log line of the publications a Redis link could not
// hand to Redis (not connected, queue full). Shared by the classic and sharded links.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "../../log.hpp"
#include "connection.hpp"

namespace sio::redis_detail {

/// Counts dropped publications and logs at most one warning a second, with the count so far (a stalled Redis
/// under a stream of broadcasts drops thousands). Thread-safe.
class publication_drops {
public:
    /// Records that the publication on `channel` failed with `why` (`who` names the adapter in the log line).
    /// Returns what the publisher reports: `queue_full` as it is, anything else as `not_connected`.
    std::error_code record(std::string_view who, std::string_view channel, std::error_code why) {
        const auto total = ++total_;
        const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
        const auto second =
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(1)).count();
        auto last = last_log_.load();
        if ((last == 0 || now - last >= second) && last_log_.compare_exchange_strong(last, now))
            SIO_LOG(adapter, warning, who, ": dropped a publication on ", channel, ": ", why, " (", total,
                    " dropped so far)");
        if (why == errc::queue_full)
            return why;
        return make_error_code(std::errc::not_connected);
    }

private:
    std::atomic<std::uint64_t> total_{0};
    std::atomic<std::chrono::steady_clock::rep> last_log_{0}; ///< when the last drop was logged
};

} // namespace sio::redis_detail
