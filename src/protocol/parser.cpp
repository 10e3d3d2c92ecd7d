#include <sio/protocol/parser.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>
#include <cmath>

#include "../log.hpp"

namespace sio::protocol {
namespace {

class parse_error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sio.protocol"; }
    std::string message(int ev) const override {
        switch (static_cast<parse_error>(ev)) {
        case parse_error::empty:
            return "empty packet";
        case parse_error::unknown_type:
            return "unknown packet type";
        case parse_error::illegal_attachments:
            return "illegal attachments";
        case parse_error::too_many_attachments:
            return "too many attachments";
        case parse_error::invalid_namespace:
            return "invalid namespace";
        case parse_error::invalid_ack_id:
            return "invalid ack id";
        case parse_error::invalid_json:
            return "invalid JSON";
        case parse_error::invalid_payload:
            return "invalid payload";
        case parse_error::reserved_event:
            return "reserved event name";
        case parse_error::unexpected_binary:
            return "unexpected binary data";
        case parse_error::unexpected_text:
            return "text packet while attachments are pending";
        case parse_error::attachment_too_large:
            return "attachments too large";
        case parse_error::invalid_msgpack:
            return "invalid MessagePack";
        case parse_error::text_message:
            return "text message to the msgpack parser";
        }
        return "parse error";
    }
};

std::string_view type_name(packet_type t) noexcept {
    constexpr std::array<std::string_view, 7> names{"CONNECT",       "DISCONNECT",   "EVENT",     "ACK",
                                                    "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"};
    const auto i = static_cast<std::size_t>(t);
    return i < names.size() ? names[i] : std::string_view("UNKNOWN");
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

bool is_binary(packet_type t) noexcept {
    return t == packet_type::binary_event || t == packet_type::binary_ack;
}

// The shape rules of socket.io-parser's isPayloadValid, stricter where the reference lets nonsense through
// (an EVENT or ACK without data is refused).
std::error_code check_payload(const packet& p) {
    const auto& d = p.data;
    switch (p.type) {
    case packet_type::connect:
        return d.is_null() || d.is_object() ? std::error_code{} : parse_error::invalid_payload;
    case packet_type::disconnect:
        return d.is_null() ? std::error_code{} : parse_error::invalid_payload;
    case packet_type::connect_error:
        return d.is_object() || d.is_string() ? std::error_code{} : parse_error::invalid_payload;
    case packet_type::event:
    case packet_type::binary_event: {
        if (!d.is_array() || d.as_array().empty())
            return parse_error::invalid_payload;
        const auto& name = d.as_array().front();
        if (name.is_string())
            return is_reserved_event(name.as_string()) ? parse_error::reserved_event : std::error_code{};
        // `1e400` is a JavaScript number (Infinity), but no name an application listens to.
        if (name.is_double())
            return std::isfinite(name.get_double()) ? std::error_code{} : parse_error::invalid_payload;
        return name.is_number() ? std::error_code{} : parse_error::invalid_payload;
    }
    case packet_type::ack:
    case packet_type::binary_ack:
        return d.is_array() ? std::error_code{} : parse_error::invalid_payload;
    }
    return parse_error::unknown_type;
}

// Every placeholder must point at an attachment that exists (CVE-2022-2421). The depth is bounded by the
// JSON parser's max_depth, so recursion is bounded too.
bool check_placeholders(const boost::json::value& v, std::size_t count) {
    std::size_t num = 0;
    if (v.is_object()) {
        const auto& o = v.as_object();
        if (auto it = o.find("_placeholder"); it != o.end() && it->value() == true)
            return is_placeholder(v, num) && num < count;
        for (const auto& kv : o)
            if (!check_placeholders(kv.value(), count))
                return false;
    } else if (v.is_array()) {
        for (const auto& e : v.as_array())
            if (!check_placeholders(e, count))
                return false;
    }
    return true;
}

} // namespace

const std::error_category& parse_error_category() noexcept {
    static const parse_error_category_impl category;
    return category;
}

boost::json::object make_placeholder(std::size_t num) {
    boost::json::object o;
    o["_placeholder"] = true;
    o["num"] = num;
    return o;
}

bool is_placeholder(const boost::json::value& v, std::size_t& num) noexcept {
    const auto* o = v.if_object();
    if (!o || o->size() != 2)
        return false;
    const auto* flag = o->if_contains("_placeholder");
    const auto* n = o->if_contains("num");
    if (!flag || *flag != true || !n)
        return false;
    if (const auto* u = n->if_uint64()) {
        num = static_cast<std::size_t>(*u);
        return true;
    }
    if (const auto* i = n->if_int64(); i && *i >= 0) {
        num = static_cast<std::size_t>(*i);
        return true;
    }
    return false;
}

std::error_code validate_packet(const packet& p) {
    if (auto ec = check_payload(p))
        return ec;
    if (!check_placeholders(p.data, p.attachments.size()))
        return parse_error::illegal_attachments;
    return {};
}

bool is_reserved_event(std::string_view name) noexcept {
    static constexpr std::array<std::string_view, 6> reserved{
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};
    for (auto r : reserved)
        if (r == name)
            return true;
    return false;
}

namespace {

void null_non_finite(boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::double_:
        if (!std::isfinite(v.get_double()))
            v = nullptr;
        break;
    case boost::json::kind::array:
        for (auto& e : v.get_array())
            null_non_finite(e);
        break;
    case boost::json::kind::object:
        for (auto& kv : v.get_object())
            null_non_finite(kv.value());
        break;
    default:
        break;
    }
}

} // namespace

void append_json(const boost::json::value& v, std::string& out) {
    // Boost.JSON writes a non-finite double as `Infinity`, `-Infinity` or `NaN`. Serialize first and look
    // for those words (a string that merely contains one costs a copy that changes nothing), so the common
    // case pays one search of the text, not a walk of the value.
    const std::size_t start = out.size();
    out += boost::json::serialize(v);
    const std::string_view text(out.data() + start, out.size() - start);
    if (text.find("Infinity") == std::string_view::npos && text.find("NaN") == std::string_view::npos)
        return;
    boost::json::value copy = v;
    null_non_finite(copy);
    out.resize(start);
    out += boost::json::serialize(copy);
}

void encode_text(const packet& p, std::string& out) {
    auto type = p.type;
    if (!p.attachments.empty()) {
        if (type == packet_type::event)
            type = packet_type::binary_event;
        else if (type == packet_type::ack)
            type = packet_type::binary_ack;
    }
    out.push_back(static_cast<char>('0' + static_cast<int>(type)));
    if (is_binary(type)) {
        out += std::to_string(p.attachments.size());
        out.push_back('-');
    }
    if (p.nsp != "/" && !p.nsp.empty()) {
        out += p.nsp;
        out.push_back(',');
    }
    if (p.id)
        out += std::to_string(*p.id);
    if (!p.data.is_null())
        append_json(p.data, out);
}

encoded_packet encode(const packet& p) {
    std::string text;
    encode_text(p, text);
    encoded_packet e;
    e.text = std::make_shared<const std::string>(std::move(text));
    e.attachments.reserve(p.attachments.size());
    for (const auto& a : p.attachments)
        e.attachments.push_back(std::make_shared<const std::string>(a));
    return e;
}

std::error_code decode_text(std::string_view text, const parser_limits& limits, packet& out,
                            std::size_t& attachments_expected) {
    attachments_expected = 0;
    if (text.empty())
        return parse_error::empty;
    if (!is_digit(text[0]) || text[0] > '6')
        return parse_error::unknown_type;
    out = packet{};
    out.type = static_cast<packet_type>(text[0] - '0');
    std::size_t i = 1;

    if (is_binary(out.type)) {
        // ASCII digits then '-', nothing else (the reference's Number() coercion accepts "5 1-", "51e0-").
        const std::size_t dash = text.find('-', i);
        if (dash == std::string_view::npos || dash == i || dash - i > 6)
            return parse_error::illegal_attachments;
        std::size_t count = 0;
        for (std::size_t k = i; k < dash; ++k) {
            if (!is_digit(text[k]))
                return parse_error::illegal_attachments;
            count = count * 10 + static_cast<std::size_t>(text[k] - '0');
        }
        if (count == 0)
            return parse_error::illegal_attachments;
        if (count > limits.max_attachments)
            return parse_error::too_many_attachments;
        attachments_expected = count;
        i = dash + 1;
    }

    if (i < text.size() && text[i] == '/') {
        const std::size_t comma = text.find(',', i);
        const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
        out.nsp.assign(text.substr(i, end - i));
        i = comma == std::string_view::npos ? text.size() : comma + 1;
    }

    if (i < text.size() && is_digit(text[i])) {
        std::size_t end = i;
        while (end < text.size() && is_digit(text[end]))
            ++end;
        if (end - i > 16)
            return parse_error::invalid_ack_id;
        std::uint64_t id = 0;
        std::from_chars(text.data() + i, text.data() + end, id);
        if (id > max_ack_id)
            return parse_error::invalid_ack_id;
        out.id = id;
        i = end;
    }

    if (i < text.size()) {
        boost::json::parse_options opts;
        opts.max_depth = limits.max_depth;
        boost::system::error_code ec;
        out.data = boost::json::parse(text.substr(i), ec, {}, opts);
        if (ec)
            return parse_error::invalid_json;
        if (out.data.is_null()) // an explicit `null` is never a valid payload (absent data is)
            return parse_error::invalid_payload;
    }
    if (auto ec = check_payload(out))
        return ec;
    if (attachments_expected > 0 && !check_placeholders(out.data, attachments_expected))
        return parse_error::illegal_attachments;
    return {};
}

std::error_code decoder::on_text(std::string_view text, std::optional<packet>& out) {
    out.reset();
    if (pending()) {
        reset();
        return parse_error::unexpected_text;
    }
    std::size_t expected = 0;
    packet p;
    if (auto ec = decode_text(text, limits_, p, expected)) {
        SIO_LOG(parser, debug, "cannot decode a packet: ", ec);
        return ec;
    }
    SIO_LOG(parser, debug, "decoded ", type_name(p.type), " for ", p.nsp, " (", expected, " attachments)");
    if (expected == 0) {
        out.emplace(std::move(p));
        return {};
    }
    partial_.reset(new partial_packet{std::move(p), expected});
    partial_->p.attachments.reserve(expected);
    return {};
}

std::error_code decoder::on_binary(std::string data, std::optional<packet>& out) {
    out.reset();
    if (!pending())
        return parse_error::unexpected_binary;
    partial_->received_bytes += data.size();
    if (partial_->received_bytes > limits_.max_attachment_bytes) {
        reset();
        return parse_error::attachment_too_large;
    }
    partial_->p.attachments.push_back(std::move(data));
    if (partial_->p.attachments.size() == partial_->expected) {
        out.emplace(std::move(partial_->p));
        reset();
    }
    return {};
}

void decoder::reset() noexcept {
    partial_.reset();
}

} // namespace sio::protocol
