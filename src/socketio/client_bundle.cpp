#include "client_bundle.hpp"

#include <array>
#include <cstdlib>
#include <map>
#include <mutex>

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

/// Compressed copies, made on first use.
const std::string& compressed(std::string_view name, std::string_view data, bool gzip) {
    static std::mutex mutex;
    static std::map<std::pair<std::string, bool>, std::string> cache;
    std::lock_guard lock(mutex);
    auto& slot = cache[{std::string(name), gzip}];
    if (slot.empty())
        slot = engineio::detail::compress(data, gzip);
    return slot;
}

} // namespace

std::optional<engineio::detail::static_reply> serve_client_bundle(std::string_view path,
                                                                  const engineio::detail::static_request& req,
                                                                  std::span<const client_bundle_file> files,
                                                                  std::string_view version) {
    const std::string_view name = bundle_name(path, req.target);
    if (name.empty())
        return std::nullopt;
    engineio::detail::static_reply reply;
    const client_bundle_file* file = nullptr;
    for (const auto& f : files)
        if (f.name == name)
            file = &f;
    if (!file) {
        reply.status = 404;
        reply.headers.set("Content-Type", "text/plain; charset=utf-8");
        reply.body = files.empty() ? "sio: this library was built without the socket.io-client bundle "
                                     "(run tools/deps.sh, then reconfigure)\n"
                                   : "Not Found\n";
        return reply;
    }
    // Per the standard, ETags are quoted; a weak validator matches too.
    const std::string etag = "\"" + std::string(version) + "\"";
    if (!req.if_none_match.empty() && (req.if_none_match == etag || req.if_none_match == "W/" + etag)) {
        reply.status = 304;
        return reply;
    }
    const bool is_map = name.ends_with(".map");
    reply.headers.set("Cache-Control", "public, max-age=0");
    reply.headers.set("Content-Type",
                      is_map ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8");
    reply.headers.set("ETag", etag);
    const double gzip = accepted(req.accept_encoding, "gzip");
    const double deflate = accepted(req.accept_encoding, "deflate");
    if (gzip > 0 || deflate > 0) {
        const bool use_gzip = gzip >= deflate;
        if (const std::string& packed = compressed(name, file->data, use_gzip); !packed.empty()) {
            reply.headers.set("Content-Encoding", use_gzip ? "gzip" : "deflate");
            reply.body = packed;
            return reply;
        }
    }
    reply.body.assign(file->data);
    return reply;
}

} // namespace sio::detail
