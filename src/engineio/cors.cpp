#include "cors.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace sio::engineio::detail {

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty())
            out += ",";
        out += s;
    }
    return out;
}

} // namespace

void add_cors_headers(const cors_options& c, std::string_view origin, std::string_view requested_headers,
                      header_list& h, bool preflight) {
    const bool any =
        !c.origin_predicate && std::find(c.origins.begin(), c.origins.end(), "*") != c.origins.end();
    if (any) {
        h.set("Access-Control-Allow-Origin", "*");
    } else {
        const bool allowed =
            !origin.empty() &&
            (c.origin_predicate ? c.origin_predicate(origin)
                                : std::find(c.origins.begin(), c.origins.end(), origin) != c.origins.end());
        if (allowed)
            h.set("Access-Control-Allow-Origin", origin);
        h.add("Vary", "Origin");
    }
    if (c.credentials)
        h.set("Access-Control-Allow-Credentials", "true");
    if (!c.exposed_headers.empty())
        h.set("Access-Control-Expose-Headers", join(c.exposed_headers));
    if (!preflight)
        return;
    h.set("Access-Control-Allow-Methods", join(c.methods));
    if (!c.allowed_headers.empty()) {
        h.set("Access-Control-Allow-Headers", join(c.allowed_headers));
    } else if (!requested_headers.empty()) {
        h.set("Access-Control-Allow-Headers", requested_headers);
        h.add("Vary", "Access-Control-Request-Headers");
    }
    if (c.max_age)
        h.set("Access-Control-Max-Age", std::to_string(c.max_age->count()));
}

} // namespace sio::engineio::detail
