#include <sio/protocol/packet.hpp>
#include <sio/value.hpp>

#include <boost/json/string.hpp>

#include <stdexcept>

#include "../engineio/beast_detail.hpp"

namespace sio {
namespace detail {

attachment_sink& current_sink() noexcept {
    thread_local attachment_sink sink;
    return sink;
}

attachment_source& current_source() noexcept {
    thread_local attachment_source source;
    return source;
}

} // namespace detail

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const binary& b) {
    if (auto* out = detail::current_sink().out) {
        v = protocol::make_placeholder(out->size());
        out->push_back(b.bytes);
        return;
    }
    // Outside an emit there is no attachment list: base64 text is the only faithful JSON form.
    std::string text(engineio::detail::base64_encoded_size(b.bytes.size()), '\0');
    text.resize(engineio::detail::base64_encode(text.data(), b.bytes.data(), b.bytes.size()));
    v = boost::json::string(text);
}

binary tag_invoke(boost::json::value_to_tag<binary>, const boost::json::value& v) {
    std::size_t num = 0;
    const auto* in = detail::current_source().in;
    if (in && protocol::is_placeholder(v, num) && num < in->size())
        return binary((*in)[num]);
    throw std::invalid_argument("not a binary attachment");
}

} // namespace sio
