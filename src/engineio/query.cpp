#include "query.hpp"

#include <boost/url/parse.hpp>

namespace sio::engineio::detail {

namespace {

void take(query_params& q, std::string_view key, std::string_view value) {
    auto first = [&](std::optional<std::string>& slot) {
        if (!slot)
            slot = std::string(value);
    };
    if (key == "EIO")
        first(q.eio);
    else if (key == "transport")
        first(q.transport);
    else if (key == "sid")
        first(q.sid);
    else if (key == "b64")
        q.b64 = true;
}

// Characters that need neither validation beyond their place nor decoding.
bool plain(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '/' || c == '=' || c == '&';
}

} // namespace

query_params parse_query_by_url(std::string_view target) {
    query_params q;
    auto url = boost::urls::parse_origin_form(target);
    if (!url)
        return q;
    for (auto param : url->params())
        take(q, param.key, param.value);
    return q;
}

query_params parse_query(std::string_view target) {
    const auto mark = target.find('?');
    const std::string_view path = target.substr(0, mark);
    const std::string_view query =
        mark == std::string_view::npos ? std::string_view{} : target.substr(mark + 1);
    bool direct = !path.empty() && path.front() == '/';
    for (const char c : path)
        direct = direct && plain(c) && c != '=' && c != '&';
    for (const char c : query)
        direct = direct && plain(c) && c != '/';
    if (!direct)
        return parse_query_by_url(target);
    query_params q;
    if (mark == std::string_view::npos)
        return q;
    for (std::string_view rest = query;;) {
        const auto end = rest.find('&');
        const std::string_view param = rest.substr(0, end);
        const auto eq = param.find('=');
        take(q, param.substr(0, eq),
             eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1));
        if (end == std::string_view::npos)
            break;
        rest.remove_prefix(end + 1);
    }
    return q;
}

} // namespace sio::engineio::detail
