// Private to the library: the head of an HTTP response written without Beast's serializer. Polling
// answers are small and many (every GET and POST of a polling session); building a Beast message
// allocates each field and its serializer walks a chain of buffer views, about a fifth of a polling
// echo's instructions. The head is formatted into one string instead, byte for byte what Beast writes
// for the same message (a unit test compares both on every case).
#pragma once

#include <sio/options.hpp>

#include <boost/beast/http/status.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sio::engineio::detail {

/// What a response head says besides its extra fields.
struct response_head_spec {
    boost::beast::http::status status = boost::beast::http::status::ok;
    unsigned version = 11;
    std::string_view content_type;     ///< none when empty
    std::string_view content_encoding; ///< none when empty
    bool keep_alive = true;
    std::size_t content_length = 0;
};

/// The head Beast writes for a response with `spec`, `content_type` first, then `extra` in order, then
/// `content_encoding`, then keep-alive and length; nullopt when that response is not the simple case this
/// covers (HTTP/1.0, a status without a body, an extra field that Beast's keep-alive or length handling
/// would rewrite, a control character in a field): the caller uses Beast then.
std::optional<std::string> format_response_head(const response_head_spec& spec, const header_list& extra);

} // namespace sio::engineio::detail
