// Private to the library: the payloads of the Admin UI protocol (what @socket.io/admin-ui 0.5.1 sends and
// reads), built from plain values so that tests check them without a server.
#pragma once

#include <sio/admin.hpp>
#include <sio/broadcast_types.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace sio::admin::detail {

/// Limits on what a UI command may carry.
inline constexpr std::size_t max_name_size = 1024; ///< a namespace, room, filter or event name
inline constexpr std::size_t max_room_count = 100; ///< rooms in one join/leave/filter list

/// `2026-12-07T11:30:00.123Z`, like JavaScript's `Date.toJSON()`.
std::string iso_date(std::chrono::system_clock::time_point t);

/// The features the UI may use: every command unless `readonly`, then the event kinds of the mode.
boost::json::array supported_features(bool readonly, mode m);

/// The `_admin` field an instrumented socket carries in its data: the first 12 characters of its Engine.IO
/// id and its transport name.
boost::json::object admin_field(std::string_view engine_id, std::string_view transport);

/// A socket as the UI shows it (`SerializedSocket`): id, clientId, transport, nsp, data (without `_admin`),
/// handshake (address from `cf-connecting-ip`, `x-forwarded-for`, else the peer), rooms. `transport`
/// replaces the one recorded in `_admin` when given (a local socket's live transport).
boost::json::object serialize_socket(const socket_details& s, std::string_view nsp,
                                     std::optional<std::string_view> transport = std::nullopt);

/// What a UI command names as rooms: a non-empty string, or an array of 1 to `max_room_count` non-empty
/// strings, each at most `max_name_size` bytes. Nullopt otherwise.
std::optional<std::vector<std::string>> parse_rooms(const boost::json::value& v);
/// The optional filter of a command: absent, null, false or "" select every socket (empty vector);
/// otherwise as `parse_rooms`.
std::optional<std::vector<std::string>> parse_filter(const boost::json::value* v);

/// Counts of server events per second, sent and cleared with each `server_stats`. Thread-safe.
class aggregated_events {
public:
    void add(std::string_view type, std::string_view sub_type = {}, std::uint64_t count = 1);
    /// `[{timestamp, type, subType?, count}]` (timestamp: ms since the epoch, floored to the second), and
    /// clears them.
    boost::json::array take();
    /// Drops the counts of the seconds before `t` (what no one took while no admin was there to read it).
    void forget_before(std::chrono::system_clock::time_point t);

    /// Keys kept at most (a flood of distinct close reasons cannot grow it further).
    static constexpr std::size_t max_keys = 4096;

private:
    std::mutex mutex_;
    std::map<std::tuple<std::int64_t, std::string, std::string>, std::uint64_t> counts_;
};

struct namespace_count {
    std::string name;
    std::size_t sockets = 0;
};

/// `ServerStats`: {serverId, hostname, pid, uptime (s), clientsCount, pollingClientsCount,
/// aggregatedEvents, namespaces: [{name, socketsCount}]}.
boost::json::object server_stats(std::string_view server_id, std::string_view hostname, std::int64_t pid,
                                 double uptime_seconds, std::size_t clients, std::size_t polling_clients,
                                 boost::json::array aggregated,
                                 const std::vector<namespace_count>& namespaces);

/// `<hostname>#<pid>-<6 random hex characters>`: containers often share the host name and the pid (1).
std::string default_server_id();
std::string host_name();

/// True when `hash` is a bcrypt hash (`is_bcrypt_hash`) that the system's crypt_r can match: it supports
/// the scheme and keeps the salt as written. Runs crypt_r once at the lowest cost (about a millisecond).
bool bcrypt_hash_usable(std::string_view hash);

/// A new session id: 8 random bytes as 16 lower-case hex characters.
std::string new_session_id();
/// True for 16 lower-case hex characters (what `new_session_id` makes; anything else is not looked up).
bool is_session_id(std::string_view id) noexcept;

} // namespace sio::admin::detail
