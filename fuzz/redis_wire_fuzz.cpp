// Fuzzes the Redis adapter's wire decoding: the first byte picks the channel (broadcast, request,
// response), the rest is the payload. Any payload decodes to a message, a legacy sockets query, or is
// ignored or dropped with a reason (never a crash, never an exception); a decoded message encodes again
// (when it is of a kind this side publishes) and that encoding decodes to the same kind.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapter/redis/wire.hpp"

using namespace sio::redis_detail;

namespace {

const channel_names names("socket.io", "/", "FUZZER");

void check(const decoded& d, int channel) {
    if (d.result == decoded::outcome::dropped && (d.why == nullptr || *d.why == '\0'))
        std::abort();
    if (d.result != decoded::outcome::message)
        return;
    const auto& m = d.message;
    std::string where, payload;
    decoded again;
    if (channel == 2) {
        if (!encode_response("FUZZER", m, names, false, where, payload))
            return;
        again = decode_response(payload);
    } else {
        if (!encode_request(m, names, "/", where, payload))
            return;
        again = where.starts_with(names.request) ? decode_request(payload) : decode_broadcast(payload, "/");
    }
    if (again.result != decoded::outcome::message || again.message.type != m.type)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const int channel = data[0] % 3;
    const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (channel) {
    case 0:
        check(decode_broadcast(payload, "/"), channel);
        break;
    case 1:
        check(decode_request(payload), channel);
        break;
    default:
        check(decode_response(payload), channel);
        break;
    }
    return 0;
}
