#include "compact_request.hpp"

#include <cstdint>
#include <cstring>
#include <string_view>

namespace sio::engineio::detail {

namespace {

// The packed form: a flags byte (1: secure), the field count, then method, target and remote address,
// then each field's name and value; every count and length an unsigned LEB128 number, each string's
// bytes after its length.

std::size_t varint_size(std::size_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

char* put_varint(char* out, std::size_t v) noexcept {
    while (v >= 0x80) {
        *out++ = static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    *out++ = static_cast<char>(v);
    return out;
}

char* put_string(char* out, std::string_view s) noexcept {
    out = put_varint(out, s.size());
    if (!s.empty())
        std::memcpy(out, s.data(), s.size());
    return out + s.size();
}

std::size_t get_varint(const char*& in) noexcept {
    std::size_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        const auto b = static_cast<unsigned char>(*in++);
        v |= static_cast<std::size_t>(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}

std::string_view get_string(const char*& in) noexcept {
    const std::size_t n = get_varint(in);
    const std::string_view s(in, n);
    in += n;
    return s;
}

} // namespace

compact_request::compact_request(const request_info& r) {
    auto string_size = [](std::string_view s) { return varint_size(s.size()) + s.size(); };
    std::size_t size = 1 + varint_size(r.headers.size()) + string_size(r.method) + string_size(r.target) +
                       string_size(r.remote_address);
    for (auto [name, value] : r.headers.fields())
        size += string_size(name) + string_size(value);
    packed_ = std::make_unique_for_overwrite<char[]>(size);
    char* out = packed_.get();
    *out++ = r.secure ? 1 : 0;
    out = put_varint(out, r.headers.size());
    out = put_string(out, r.method);
    out = put_string(out, r.target);
    out = put_string(out, r.remote_address);
    for (auto [name, value] : r.headers.fields()) {
        out = put_string(out, name);
        out = put_string(out, value);
    }
}

const request_info& compact_request::get() const {
    std::call_once(once_, [this] {
        auto full = std::make_unique<request_info>();
        const char* in = packed_.get();
        full->secure = *in++ != 0;
        const std::size_t fields = get_varint(in);
        full->method = get_string(in);
        full->target = get_string(in);
        full->remote_address = get_string(in);
        // Two passes: the header list is reserved once (one block of text, one of offsets).
        const char* const first_field = in;
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < 2 * fields; ++i)
            bytes += get_string(in).size();
        full->headers.reserve(fields, bytes);
        in = first_field;
        for (std::size_t i = 0; i < fields; ++i) {
            const auto name = get_string(in);
            full->headers.add(name, get_string(in));
        }
        full_ = std::move(full);
        packed_.reset();
    });
    return *full_;
}

} // namespace sio::engineio::detail
