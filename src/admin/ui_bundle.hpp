// Private to the library: the official Admin UI build embedded at build time (cmake/admin_ui_bundle.cmake)
// and how it is served at admin::options::ui_path.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "../engineio/static_route.hpp"

namespace sio::admin::detail {

/// name: relative to ui/dist, e.g. "index.html", "js/app.0d7d7845.js"; and "LICENSE".
using ui_file = engineio::detail::embedded_file;

/// The embedded files (empty when the library was built without them) and the package's version.
extern const std::span<const ui_file> admin_ui_files;
extern const std::string_view admin_ui_version;

/// nullopt when `target` is not under `path` (which ends with '/'). Otherwise: `path` itself and
/// `path` + "index.html" give the page; `path` without its final '/' redirects to `path` (the page loads its
/// files relative to it); `path` + a file name gives that file, `path` + "LICENSE" the package's licence;
/// anything else under `path` is 404 (also every name when `files` is empty). `ETag` is the version;
/// 304 on a matching `If-None-Match`. Thread-safe.
std::optional<engineio::detail::static_reply> serve_admin_ui(std::string_view path,
                                                             const engineio::detail::static_request& req,
                                                             std::span<const ui_file> files = admin_ui_files,
                                                             std::string_view version = admin_ui_version);

} // namespace sio::admin::detail
