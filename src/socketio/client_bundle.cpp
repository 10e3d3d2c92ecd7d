#include "client_bundle.hpp"

#include <string>

namespace sio::detail {
namespace {

/// "<path>/socket.io[.msgpack|.esm][.min].js[.map]" → the file name after "<path>/"; empty otherwise.
std::string_view bundle_name(std::string_view path, std::string_view target) {
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    if (!target.starts_with(path) || target.size() <= path.size() || target[path.size()] != '/')
        return {};
    std::string_view name = target.substr(path.size() + 1);
    name = name.substr(0, name.find('?'));
    std::string_view rest = name;
    if (!rest.starts_with("socket.io"))
        return {};
    rest.remove_prefix(9);
    for (std::string_view part : {std::string_view(".msgpack"), std::string_view(".esm")})
        if (rest.starts_with(part)) {
            rest.remove_prefix(part.size());
            break;
        }
    if (rest.starts_with(".min"))
        rest.remove_prefix(4);
    if (!rest.starts_with(".js"))
        return {};
    rest.remove_prefix(3);
    if (rest.starts_with(".map"))
        rest.remove_prefix(4);
    return rest.empty() ? name : std::string_view{};
}

} // namespace

std::optional<engineio::detail::static_reply> serve_client_bundle(std::string_view path,
                                                                  const engineio::detail::static_request& req,
                                                                  std::span<const client_bundle_file> files,
                                                                  std::string_view version) {
    const std::string_view name = bundle_name(path, req.target);
    if (name.empty())
        return std::nullopt;
    // The reference's headers, in its order.
    header_list headers;
    headers.set("Cache-Control", "public, max-age=0");
    headers.set("Content-Type", name.ends_with(".map") ? "application/json; charset=utf-8"
                                                       : "application/javascript; charset=utf-8");
    const std::string etag = "\"" + std::string(version) + "\"";
    return engineio::detail::serve_embedded_file(
        name, req,
        {.files = files,
         .etag = etag,
         .missing_set = "sio: this library was built without the socket.io-client bundle "
                        "(run tools/deps.sh, then reconfigure)\n",
         .compress = true},
        headers);
}

} // namespace sio::detail
