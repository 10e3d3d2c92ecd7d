// Fuzzes the Redis adapter's MessagePack decoder: any bytes either decode or fail cleanly (never a crash,
// and a failure leaves the attachments as they were); a decoded value stays within the limits (nesting,
// elements) and its attachments within the input; and it can be encoded again, after which decoding
// reaches a fixed point (decode ∘ encode gives the same value and attachments twice in a row).
#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/msgpack.hpp"

using namespace sio::msgpack_detail;

namespace {

const msgpack_limits limits{8, 256};

struct shape {
    std::size_t depth = 0;
    std::size_t elements = 0;
};

void measure(const boost::json::value& v, std::size_t depth, shape& s) {
    if (depth > s.depth)
        s.depth = depth;
    if (v.is_array()) {
        s.elements += v.get_array().size();
        for (const auto& e : v.get_array())
            measure(e, depth + 1, s);
    } else if (v.is_object()) {
        s.elements += v.get_object().size();
        for (const auto& e : v.get_object())
            measure(e.value(), depth + 1, s);
    }
}

/// Encodes `v` and decodes the bytes again; aborts when that fails.
void round_trip(const boost::json::value& v, const std::vector<std::string>& attachments,
                boost::json::value& out, std::vector<std::string>& out_attachments) {
    std::string bytes;
    msgpack_encode(v, attachments, bytes);
    if (msgpack_decode(bytes, out, out_attachments))
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    boost::json::value v1;
    std::vector<std::string> a1{"kept"};
    if (msgpack_decode(bytes, v1, a1, limits)) {
        if (a1.size() != 1 || a1[0] != "kept" || !v1.is_null())
            std::abort();
        return 0;
    }
    if (a1.empty() || a1[0] != "kept")
        std::abort();
    a1.erase(a1.begin());
    std::size_t attached = 0;
    for (const auto& a : a1)
        attached += a.size();
    if (attached > size)
        std::abort();
    shape s;
    measure(v1, 0, s);
    // An ext becomes [type, data]: its pair counts towards the depth already, and adds 2 elements.
    if (s.depth > limits.max_depth + 1 || s.elements > 2 * limits.max_elements)
        std::abort();
    boost::json::value v2, v3;
    std::vector<std::string> a2, a3;
    round_trip(v1, a1, v2, a2);
    round_trip(v2, a2, v3, a3);
    if (v2 != v3 || a2 != a3)
        std::abort();
    return 0;
}
