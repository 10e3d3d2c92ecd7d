// sio — event arguments: JSON values (Boost.JSON) with binary buffers anywhere inside.
//
// Arguments are converted with `boost::json::value_from` / `value_to`, so user types with `tag_invoke`
// conversions (or described structs) work. A `sio::binary` inside the arguments travels as a Socket.IO
// binary attachment: in the JSON it is a placeholder `{"_placeholder":true,"num":N}`, its bytes follow the
// packet as a binary message.
#pragma once

#include <sio/config.hpp>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sio {

/// A binary buffer (bytes). Converts to an attachment placeholder while arguments are being encoded, and
/// back from a placeholder while a received event is being read.
struct binary {
    std::string bytes;

    binary() = default;
    explicit binary(std::string b) : bytes(std::move(b)) {}
    binary(const void* data, std::size_t size) : bytes(static_cast<const char*>(data), size) {}
    explicit binary(std::span<const std::byte> b)
        : bytes(reinterpret_cast<const char*>(b.data()), b.size()) {}

    std::size_t size() const noexcept { return bytes.size(); }
    friend bool operator==(const binary&, const binary&) = default;
};

/// Arguments as they travel: a JSON array (with placeholders) and the attachments it refers to.
struct arguments {
    boost::json::array values;
    std::vector<std::string> attachments;

    std::size_t size() const noexcept { return values.size(); }
    /// Argument `i` converted to `T` (binary placeholders resolve to `sio::binary`). Throws
    /// `std::system_error`/`std::out_of_range` when it does not convert.
    template <class T>
    T get(std::size_t i) const;
};

namespace detail {

/// While set, `value_from(binary)` appends the bytes here and yields a placeholder.
struct attachment_sink {
    std::vector<std::string>* out = nullptr;
};
/// While set, `value_to<binary>` resolves placeholders from here.
struct attachment_source {
    const std::vector<std::string>* in = nullptr;
};
attachment_sink& current_sink() noexcept;
attachment_source& current_source() noexcept;

/// Sets the thread's attachment sink for the lifetime of the object.
class sink_scope {
public:
    explicit sink_scope(std::vector<std::string>& out) noexcept : saved_(current_sink()) {
        current_sink().out = &out;
    }
    ~sink_scope() { current_sink() = saved_; }
    sink_scope(const sink_scope&) = delete;
    sink_scope& operator=(const sink_scope&) = delete;

private:
    attachment_sink saved_;
};

class source_scope {
public:
    explicit source_scope(const std::vector<std::string>& in) noexcept : saved_(current_source()) {
        current_source().in = &in;
    }
    ~source_scope() { current_source() = saved_; }
    source_scope(const source_scope&) = delete;
    source_scope& operator=(const source_scope&) = delete;

private:
    attachment_source saved_;
};

template <class T>
void append_value(arguments& args, T&& v) {
    if constexpr (std::is_same_v<std::decay_t<T>, boost::json::value>)
        args.values.push_back(std::forward<T>(v));
    else
        args.values.push_back(boost::json::value_from(std::forward<T>(v)));
}

} // namespace detail

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const binary& b);
binary tag_invoke(boost::json::value_to_tag<binary>, const boost::json::value& v);

/// Builds arguments from C++ values; binaries anywhere inside become attachments.
template <class... Args>
arguments make_arguments(Args&&... args) {
    arguments out;
    out.values.reserve(sizeof...(Args));
    detail::sink_scope scope(out.attachments);
    (detail::append_value(out, std::forward<Args>(args)), ...);
    return out;
}

template <class T>
T arguments::get(std::size_t i) const {
    detail::source_scope scope(attachments);
    return boost::json::value_to<T>(values.at(i));
}

} // namespace sio
