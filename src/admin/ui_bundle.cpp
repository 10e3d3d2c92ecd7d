#include "ui_bundle.hpp"

#include <string>

namespace sio::admin::detail {
namespace {

std::string_view content_type(std::string_view name) {
    if (name.ends_with(".html"))
        return "text/html; charset=utf-8";
    if (name.ends_with(".js"))
        return "application/javascript; charset=utf-8";
    if (name.ends_with(".css"))
        return "text/css; charset=utf-8";
    if (name.ends_with(".svg"))
        return "image/svg+xml";
    if (name.ends_with(".png"))
        return "image/png";
    if (name.ends_with(".ico"))
        return "image/x-icon";
    return "text/plain; charset=utf-8";
}

} // namespace

std::optional<engineio::detail::static_reply> serve_admin_ui(std::string_view path,
                                                             const engineio::detail::static_request& req,
                                                             std::span<const ui_file> files,
                                                             std::string_view version) {
    const std::string_view target = req.target.substr(0, req.target.find('?'));
    engineio::detail::static_reply reply;
    if (path.size() > 1 && target == path.substr(0, path.size() - 1)) {
        reply.status = 301;
        reply.headers.set("Location", path);
        return reply;
    }
    if (!target.starts_with(path))
        return std::nullopt;
    std::string_view name = target.substr(path.size());
    if (name.empty())
        name = "index.html";
    header_list headers;
    headers.set("Content-Type", content_type(name));
    headers.set("Cache-Control", "public, max-age=0");
    const std::string etag = "\"admin-ui-" + std::string(version) + "\"";
    return engineio::detail::serve_embedded_file(
        name, req,
        {.files = files,
         .etag = etag,
         .missing_set =
             "sio: this library was built without the Admin UI (run tools/deps.sh, then reconfigure)\n"},
        headers);
}

} // namespace sio::admin::detail
