// Logging: silent by default; scopes named like the reference's `debug` namespaces, a replaceable sink.
#pragma once

#include <sio/config.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

namespace sio {

/// Severity of a record. `debug` and `info` trace what the library does; `warning` and `error` report
/// something the application may want to know even when tracing is off (a dropped cluster message, an
/// exception escaping a handler, an accept failure).
enum class log_level : std::uint8_t { debug, info, warning, error };

/// Where a record comes from; `name()` gives the reference's `debug` namespace.
enum class log_scope : std::uint8_t {
    engine,         ///< "engine": the Engine.IO server (handshakes, refused requests)
    engine_socket,  ///< "engine:socket": one Engine.IO session (heartbeat, upgrade, close)
    engine_ws,      ///< "engine:ws": the WebSocket transport
    engine_polling, ///< "engine:polling": the HTTP long-polling transport
    server,         ///< "socket.io:server"
    socket,         ///< "socket.io:socket": rooms, emits, acks, disconnections
    namespace_,     ///< "socket.io:namespace": middlewares, sockets added and removed
    client,         ///< "socket.io:client": one connection, namespace connections, decode errors
    parser,         ///< "socket.io-parser"
    adapter,        ///< "socket.io-adapter": broadcasts, cluster requests, the Redis adapter
};
inline constexpr std::size_t log_scope_count = 10;

/// The reference's name of the scope, e.g. "engine:socket" or "socket.io-parser".
std::string_view name(log_scope scope) noexcept;
/// "debug", "info", "warning" or "error".
std::string_view name(log_level level) noexcept;

/// One log line. `message` is only valid during the sink call. It may quote names sent by peers (events,
/// rooms, namespaces) verbatim, control characters included; it is at most about 2 KB.
struct log_record {
    log_level level;
    log_scope scope;
    std::string_view message;
};

/// Receives records. Called from any thread, possibly from several threads at once (the library's I/O
/// threads, often inside a strand): it must be thread-safe, should be quick, and must not block on the
/// library. Exceptions it throws are swallowed.
using log_sink = std::function<void(const log_record&)>;

/// Installs the process-wide sink; an empty function restores the default sink, which writes one line per
/// record on stderr like the `debug` npm package ("  engine:socket message +3ms" on a terminal, an ISO
/// timestamp first otherwise).
///
/// What reaches the sink: `debug`/`info` records of the enabled scopes only; `warning`/`error` records of
/// every scope when the sink is the application's, of the enabled scopes only with the default sink (so a
/// process that configures nothing prints nothing). Thread-safe; may be called while servers run (records
/// being delivered at that moment may still reach the previous sink).
void set_log_sink(log_sink sink);

/// Enables scopes with the syntax of the `DEBUG` environment variable of the `debug` package: names
/// separated by commas or spaces, `*` matching any characters, a leading `-` excluding what matches
/// (exclusions win), e.g. "engine,socket.io*" or "*,-engine:polling". An empty spec disables every scope.
/// Replaces the previous setting. Thread-safe.
///
/// Calling it also means the `DEBUG` environment variable is not consulted: otherwise the first
/// engineio::server constructed (every sio::server has one) applies `DEBUG` once.
void enable_log_scopes(std::string_view spec);

/// True when `spec` (the syntax above) enables the namespace `name`. Exposed for tests and tools.
bool log_spec_enables(std::string_view spec, std::string_view name);

/// Applies the `DEBUG` environment variable now, unless enable_log_scopes() was called or it was already
/// applied. Servers call it on construction; an application needs it only to log before that.
void enable_log_scopes_from_environment();

namespace detail {
/// Bit i: scope i enabled. Bit `log_user_sink_bit`: the sink is the application's.
extern std::atomic<std::uint32_t> log_mask;
inline constexpr std::uint32_t log_user_sink_bit = 1u << 31;
} // namespace detail

/// True when a record of this scope and level would be delivered: one relaxed atomic load, no lock.
inline bool log_enabled(log_scope scope, log_level level) noexcept {
    const std::uint32_t m = detail::log_mask.load(std::memory_order_relaxed);
    return ((m >> static_cast<unsigned>(scope)) & 1u) != 0 ||
           (level >= log_level::warning && (m & detail::log_user_sink_bit) != 0);
}

/// Delivers a record when log_enabled(scope, level) (checked again here). Thread-safe.
void log(log_scope scope, log_level level, std::string_view message);

} // namespace sio
