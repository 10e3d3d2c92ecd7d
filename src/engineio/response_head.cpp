#include "response_head.hpp"

#include <boost/beast/core/string.hpp>

#include <charconv>

namespace sio::engineio::detail {

namespace http = boost::beast::http;

namespace {

bool has_control(std::string_view s) {
    for (const char c : s)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
            return true;
    return false;
}

// Beast trims spaces and tabs around a field's value when it stores the field.
std::string_view trimmed(std::string_view v) {
    const auto first = v.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    return v.substr(first, v.find_last_not_of(" \t") - first + 1);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

} // namespace

std::optional<std::string> format_response_head(const response_head_spec& spec, const header_list& extra) {
    const auto code = static_cast<unsigned>(spec.status);
    if (spec.version != 11 || code < 200 || code > 999 || code == 204 || code == 304)
        return std::nullopt;
    std::size_t size = 64 + spec.content_type.size() + spec.content_encoding.size();
    for (const auto& [name, value] : extra.fields()) {
        using boost::beast::iequals;
        if (name.empty() || name.size() > 0xfff0 || value.size() > 0xfff0 || has_control(name) ||
            has_control(value) || iequals(name, "connection") || iequals(name, "content-length") ||
            iequals(name, "transfer-encoding") ||
            (!spec.content_encoding.empty() && iequals(name, "content-encoding")))
            return std::nullopt;
        size += name.size() + value.size() + 4;
    }
    std::string out;
    out.reserve(size);
    char digits[20];
    out.append("HTTP/1.1 ");
    out.append(digits, std::to_chars(digits, digits + sizeof digits, code).ptr);
    out.push_back(' ');
    out.append(http::obsolete_reason(spec.status));
    out.append("\r\n");
    if (!spec.content_type.empty())
        append_field(out, "Content-Type", trimmed(spec.content_type));
    for (const auto& [name, value] : extra.fields())
        append_field(out, name, trimmed(value));
    if (!spec.content_encoding.empty())
        append_field(out, "Content-Encoding", trimmed(spec.content_encoding));
    if (!spec.keep_alive)
        append_field(out, "Connection", "close");
    out.append("Content-Length: ");
    out.append(digits, std::to_chars(digits, digits + sizeof digits, spec.content_length).ptr);
    out.append("\r\n\r\n");
    return out;
}

} // namespace sio::engineio::detail
