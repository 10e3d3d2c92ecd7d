// Fuzzes the msgpack parser's decoder: the input is one binary message. A decoded packet must satisfy the
// shape rules, respect the limits, and encode and decode back to the same packet.
#include <sio/protocol/codec.hpp>

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

// Equal values; numbers by value (a double 2.0 comes back as the integer 2, as notepack writes it).
bool same(const boost::json::value& a, const boost::json::value& b) {
    if (a.is_number() && b.is_number())
        return a.to_number<double>() == b.to_number<double>();
    if (a.kind() != b.kind())
        return false;
    if (a.is_array()) {
        const auto &x = a.get_array(), &y = b.get_array();
        if (x.size() != y.size())
            return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!same(x[i], y[i]))
                return false;
        return true;
    }
    if (a.is_object()) {
        const auto &x = a.get_object(), &y = b.get_object();
        if (x.size() != y.size())
            return false;
        auto i = x.begin();
        auto j = y.begin();
        for (; i != x.end(); ++i, ++j)
            if (i->key() != j->key() || !same(i->value(), j->value()))
                return false;
        return true;
    }
    return a == b;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    sio::protocol::parser_limits limits;
    limits.max_attachments = 4;
    limits.max_attachment_bytes = 1024;
    limits.max_depth = 16;
    sio::protocol::packet p;
    if (sio::protocol::decode_msgpack(bytes, limits, p))
        return 0;
    if (sio::protocol::validate_packet(p) || p.attachments.size() > limits.max_attachments)
        std::abort();
    std::size_t total = 0;
    for (const auto& a : p.attachments)
        total += a.size();
    if (total > limits.max_attachment_bytes)
        std::abort();
    // The round trip keeps everything (NaN and ±Infinity decode as null, so numbers survive by value).
    const std::string again_bytes = sio::protocol::encode_msgpack(p);
    sio::protocol::packet again;
    if (sio::protocol::decode_msgpack(again_bytes, limits, again) || again.type != p.type ||
        again.nsp != p.nsp || again.id != p.id || again.attachments != p.attachments ||
        !same(again.data, p.data))
        std::abort();
    return 0;
}
