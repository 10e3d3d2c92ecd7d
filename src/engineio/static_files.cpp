// Serving a set of files embedded in the library (the browser client bundle, the Admin UI): lookup, 404,
// ETag and 304, and compression by Accept-Encoding, compressed once per file.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>

#include "static_route.hpp"

namespace sio::engineio::detail {
namespace {

/// The q-value the client gives `coding` in Accept-Encoding (`*` counts), 0 when absent.
double accepted(std::string_view header, std::string_view coding) {
    double star = 0, exact = -1;
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        const auto semi = item.find(';');
        std::string_view name = item.substr(0, semi);
        while (!name.empty() && (name.front() == ' ' || name.front() == '\t'))
            name.remove_prefix(1);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
            name.remove_suffix(1);
        double q = 1;
        if (semi != std::string_view::npos) {
            const auto qpos = item.find("q=", semi);
            if (qpos != std::string_view::npos)
                q = std::strtod(std::string(item.substr(qpos + 2, 5)).c_str(), nullptr);
        }
        if (name.size() == coding.size() &&
            std::equal(name.begin(), name.end(), coding.begin(),
                       [](char a, char b) { return (a | 0x20) == (b | 0x20); }))
            exact = q;
        else if (name == "*")
            star = q;
    }
    return exact >= 0 ? exact : star;
}

/// The compressed copy of an embedded file, made on first use (keyed by the file's data, which lives as
/// long as the process).
const std::string& compressed(std::string_view data, bool gzip) {
    static std::mutex mutex;
    static std::map<std::tuple<const char*, std::size_t, bool>, std::string> cache;
    std::lock_guard lock(mutex);
    auto& slot = cache[{data.data(), data.size(), gzip}];
    if (slot.empty())
        slot = compress(data, gzip);
    return slot;
}

} // namespace

static_reply serve_embedded_file(std::string_view name, const static_request& req, const embedded_files& set,
                                 const header_list& headers) {
    static_reply reply;
    const embedded_file* file = nullptr;
    for (const auto& f : set.files)
        if (f.name == name)
            file = &f;
    if (!file) {
        reply.status = 404;
        reply.headers.set("Content-Type", "text/plain; charset=utf-8");
        reply.body = set.files.empty() ? set.missing_set : "Not Found\n";
        return reply;
    }
    // Per the standard, ETags are quoted; a weak validator matches too.
    if (!req.if_none_match.empty() &&
        (req.if_none_match == set.etag ||
         (req.if_none_match.starts_with("W/") && req.if_none_match.substr(2) == set.etag))) {
        reply.status = 304;
        return reply;
    }
    reply.headers = headers;
    reply.headers.set("ETag", set.etag);
    if (set.compress) {
        const double gzip = accepted(req.accept_encoding, "gzip");
        const double deflate = accepted(req.accept_encoding, "deflate");
        if (gzip > 0 || deflate > 0) {
            const bool use_gzip = gzip >= deflate;
            if (const std::string& packed = compressed(file->data, use_gzip); !packed.empty()) {
                reply.headers.set("Content-Encoding", use_gzip ? "gzip" : "deflate");
                reply.body = packed;
                return reply;
            }
        }
    }
    reply.body.assign(file->data);
    return reply;
}

} // namespace sio::engineio::detail
