#include <sio/log.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include <unistd.h>

namespace sio {

namespace detail {
std::atomic<std::uint32_t> log_mask{0};
} // namespace detail

namespace {

constexpr std::array<std::string_view, log_scope_count> scope_names{
    "engine",           "engine:socket",       "engine:ws",        "engine:polling",   "socket.io:server",
    "socket.io:socket", "socket.io:namespace", "socket.io:client", "socket.io-parser", "socket.io-adapter",
};

std::mutex sink_mutex;
std::shared_ptr<const log_sink> user_sink;  // null: the default sink
std::atomic<bool> scopes_configured{false}; // enable_log_scopes() or the environment was applied

/// `*` matches any run of characters; everything else matches itself. Linear-ish backtracking on the last
/// star, enough for the short names involved.
bool glob_match(std::string_view pattern, std::string_view text) {
    std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (p < pattern.size() && pattern[p] == text[t]) {
            ++p;
            ++t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

/// Calls `f(item)` for each comma- or whitespace-separated item of `spec`.
template <class F>
void for_each_item(std::string_view spec, F&& f) {
    auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    std::size_t i = 0;
    while (i < spec.size()) {
        while (i < spec.size() && is_sep(spec[i]))
            ++i;
        std::size_t j = i;
        while (j < spec.size() && !is_sep(spec[j]))
            ++j;
        if (j > i)
            f(spec.substr(i, j - i));
        i = j;
    }
}

void apply_spec(std::string_view spec) {
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < log_scope_count; ++i)
        if (log_spec_enables(spec, scope_names[i]))
            bits |= 1u << i;
    std::lock_guard lock(sink_mutex);
    const std::uint32_t user = detail::log_mask.load(std::memory_order_relaxed) & detail::log_user_sink_bit;
    detail::log_mask.store(bits | user, std::memory_order_relaxed);
}

// --- the default sink ----------------------------------------------------------------------------------

std::array<std::atomic<std::int64_t>, log_scope_count> last_ms{}; // per scope, for "+Nms"

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void append_iso_time(std::string& out) {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    out.append(buf, n);
    const auto frac = static_cast<int>(ms % 1000);
    std::snprintf(buf, sizeof buf, ".%03dZ ", frac);
    out += buf;
}

void default_sink(const log_record& r) {
    static const bool tty = ::isatty(STDERR_FILENO) == 1;
    const auto i = static_cast<std::size_t>(r.scope);
    std::string line;
    line.reserve(r.message.size() + 48);
    if (tty)
        line += "  ";
    else
        append_iso_time(line);
    line += scope_names[i];
    line += ' ';
    if (r.level >= log_level::warning) {
        line += name(r.level);
        line += ": ";
    }
    // Messages quote names from the wire (events, rooms, namespaces): control characters are escaped so
    // that a peer cannot forge lines or send terminal sequences.
    for (const char c : r.message) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            line += "\\x";
            line += hex[u >> 4];
            line += hex[u & 15];
        } else {
            line += c;
        }
    }
    if (tty) {
        const auto now = steady_ms();
        const auto prev = last_ms[i].exchange(now, std::memory_order_relaxed);
        line += " +";
        line += std::to_string(prev == 0 ? 0 : now - prev);
        line += "ms";
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr); // one call per line: stdio locks the stream
}

} // namespace

std::string_view name(log_scope scope) noexcept {
    const auto i = static_cast<std::size_t>(scope);
    return i < scope_names.size() ? scope_names[i] : std::string_view("unknown");
}

std::string_view name(log_level level) noexcept {
    switch (level) {
    case log_level::debug:
        return "debug";
    case log_level::info:
        return "info";
    case log_level::warning:
        return "warning";
    case log_level::error:
        return "error";
    }
    return "unknown";
}

bool log_spec_enables(std::string_view spec, std::string_view name) {
    // Like the `debug` package: a name ending in `*` is always enabled; exclusions win over inclusions.
    if (!name.empty() && name.back() == '*')
        return true;
    bool included = false, excluded = false;
    for_each_item(spec, [&](std::string_view item) {
        if (item.front() == '-') {
            if (glob_match(item.substr(1), name))
                excluded = true;
        } else if (glob_match(item, name)) {
            included = true;
        }
    });
    return included && !excluded;
}

void enable_log_scopes(std::string_view spec) {
    scopes_configured.store(true);
    apply_spec(spec);
}

void enable_log_scopes_from_environment() {
    if (scopes_configured.exchange(true))
        return;
    if (const char* env = std::getenv("DEBUG"))
        apply_spec(env);
}

void set_log_sink(log_sink sink) {
    std::shared_ptr<const log_sink> next;
    if (sink)
        next = std::make_shared<const log_sink>(std::move(sink));
    std::lock_guard lock(sink_mutex);
    user_sink.swap(next);
    const std::uint32_t scopes =
        detail::log_mask.load(std::memory_order_relaxed) & ~detail::log_user_sink_bit;
    detail::log_mask.store(scopes | (user_sink ? detail::log_user_sink_bit : 0u), std::memory_order_relaxed);
    // `next` (the previous sink) is destroyed after the lock is released; a record being delivered to it
    // holds its own reference.
}

void log(log_scope scope, log_level level, std::string_view message) {
    if (static_cast<std::size_t>(scope) >= log_scope_count)
        return;
    const std::uint32_t m = detail::log_mask.load(std::memory_order_relaxed);
    const bool scope_on = ((m >> static_cast<unsigned>(scope)) & 1u) != 0;
    std::shared_ptr<const log_sink> sink;
    {
        std::lock_guard lock(sink_mutex);
        sink = user_sink;
    }
    if (!scope_on && !(sink && level >= log_level::warning))
        return;
    const log_record record{level, scope, message};
    try {
        if (sink)
            (*sink)(record);
        else
            default_sink(record);
    } catch (...) {
        // a throwing sink must not take the library down
    }
}

} // namespace sio
