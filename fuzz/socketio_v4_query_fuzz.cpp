// Fuzzes what a Socket.IO v4 client's namespace turns into (allow_eio3): the namespace and query split,
// and the query's auth object. Every key and value must be well-formed UTF-8 (malformed input is
// replaced), and no more parameters than the cap may come back.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engineio/utf8.hpp"
#include "socketio/protocol_v4.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace v4 = sio::detail::protocol_v4;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto parts = v4::split(input);
    if (parts.name.size() + parts.query.size() > input.size() || !input.starts_with(parts.name))
        std::abort();
    const auto auth = v4::query_auth(input);
    if (!auth)
        return 0;
    if (auth->size() > v4::max_query_parameters)
        std::abort();
    for (const auto& kv : *auth) {
        if (!kv.value().is_string() || !sio::engineio::detail::valid_utf8(kv.key()) ||
            !sio::engineio::detail::valid_utf8(kv.value().get_string()))
            std::abort();
    }
    return 0;
}
