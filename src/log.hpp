// Private to the library: SIO_LOG(scope, level, args...) formats `args` into one message and hands it to the
// sink, only when the record would be delivered (the arguments are not evaluated otherwise).
#pragma once

#include <sio/log.hpp>

#include <boost/system/error_code.hpp>

#include <charconv>
#include <chrono>
#include <concepts>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace sio::detail {

inline void log_append(std::string& out, std::string_view s) {
    out += s;
}
inline void log_append(std::string& out, const char* s) {
    out += s ? s : "(null)";
}
inline void log_append(std::string& out, const std::string& s) {
    out += s;
}
inline void log_append(std::string& out, char c) {
    out += c;
}
inline void log_append(std::string& out, bool b) {
    out += b ? "true" : "false";
}
template <class T>
requires(std::integral<T> && !std::same_as<T, bool> &&
         !std::same_as<T, char>) void log_append(std::string& out, T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}
inline void log_append(std::string& out, const std::error_code& ec) {
    out += ec.message();
}
inline void log_append(std::string& out, const boost::system::error_code& ec) {
    out += ec.message();
}
template <class T>
requires std::is_enum_v<T>
void log_append(std::string& out, T v) {
    log_append(out, static_cast<std::underlying_type_t<T>>(v));
}
template <class Rep, class Period>
void log_append(std::string& out, std::chrono::duration<Rep, Period> d) {
    log_append(out, std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    out += "ms";
}

/// Longer messages are cut (with "...").
inline constexpr std::size_t max_log_message = 2048;

template <class... Args>
void log_format(log_scope scope, log_level level, const Args&... args) {
    std::string message;
    (log_append(message, args), ...);
    if (message.size() > max_log_message) { // names from the wire can be long
        message.resize(max_log_message);
        message += "...";
    }
    sio::log(scope, level, message);
}

} // namespace sio::detail

#define SIO_LOG(scope, level, ...)                                                                           \
    do {                                                                                                     \
        if (::sio::log_enabled(::sio::log_scope::scope, ::sio::log_level::level))                            \
            ::sio::detail::log_format(::sio::log_scope::scope, ::sio::log_level::level, __VA_ARGS__);        \
    } while (0)
