// MessagePack decoding as notepack.io 3.0.1 reads it, on msgpuck's primitives. The decoder reads each header
// itself (every length is checked against the input left before msgpuck loads a byte) and then builds what
// Node ends up with: the JS value notepack makes, as socket.io would serialise it again (Buffer →
// attachment, Date → ISO text, undefined properties dropped, JS property order and property keys).
#include <sio/protocol/packet.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <utility>

#include "js_text.hpp"
#include "msgpack.hpp"
#include <msgpuck.h>

namespace sio::msgpack_detail {
namespace {

namespace json = boost::json;

struct malformed {};

[[noreturn]] void fail() {
    throw malformed{};
}

/// What one msgpack item is, in notepack's terms.
enum class tag {
    nil,
    undefined, // d4 00 xx
    boolean,
    integer,  // every int form that fits int64
    uinteger, // cf above INT64_MAX
    number,   // ca, cb
    str,
    bin,          // Buffer
    array_buffer, // ext type 0 in c7/c8/c9 (legacy ArrayBuffer)
    date,         // ext -1 (d6, d7, c7) and legacy d7 00; `number` holds the time value, NaN if invalid
    ext,          // any other ext: [type, Buffer]
    array,
    map,
};

struct item {
    tag kind = tag::nil;
    bool boolean = false;
    std::int64_t integer = 0;
    std::uint64_t uinteger = 0;
    double number = 0;
    std::int8_t ext_type = 0;
    std::string_view bytes; // str, bin, array_buffer, ext
    std::size_t size = 0;   // array elements, map entries
};

class decoder {
public:
    decoder(std::string_view in, std::vector<std::string>& attachments, const msgpack_limits& limits)
        : p_(in.data()), end_(in.data() + in.size()), attachments_(attachments), base_(attachments.size()),
          limits_(limits) {}

    json::value run() {
        bool undefined = false;
        json::value v = build(next(), 0, undefined);
        if (p_ != end_)
            fail(); // trailing bytes
        if (renumber_) {
            std::vector<std::string> ordered;
            renumber(v, ordered);
            attachments_.resize(base_);
            std::move(ordered.begin(), ordered.end(), std::back_inserter(attachments_));
        }
        return v;
    }

private:
    // ---- input

    std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }
    void need(std::size_t n) const {
        if (left() < n)
            fail();
    }
    std::uint8_t u8() {
        need(1);
        return mp_load_u8(&p_);
    }
    std::uint16_t u16() {
        need(2);
        return mp_load_u16(&p_);
    }
    std::uint32_t u32() {
        need(4);
        return mp_load_u32(&p_);
    }
    std::uint64_t u64() {
        need(8);
        return mp_load_u64(&p_);
    }
    std::int8_t i8() { return static_cast<std::int8_t>(u8()); }
    std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
    std::string_view take(std::size_t n) {
        need(n);
        std::string_view s(p_, n);
        p_ += n;
        return s;
    }

    // ---- one item header (and the payload of scalars)

    static item make(tag k) {
        item it;
        it.kind = k;
        return it;
    }
    static item integer(std::int64_t v) {
        item it = make(tag::integer);
        it.integer = v;
        return it;
    }
    static item number(double v) {
        item it = make(tag::number);
        it.number = v;
        return it;
    }
    static item date(double t) {
        item it = make(tag::date);
        it.number = time_clip(t);
        return it;
    }
    item bytes(tag k, std::size_t n) {
        item it = make(k);
        it.bytes = take(n);
        return it;
    }
    item container(tag k, std::size_t n) {
        // Every element takes at least one byte, every entry two: a count the input cannot hold is refused
        // before anything is allocated for it.
        if (n > (k == tag::map ? left() / 2 : left()))
            fail();
        item it = make(k);
        it.size = n;
        return it;
    }
    item ext(std::int8_t type, std::size_t n) {
        item it = bytes(tag::ext, n);
        it.ext_type = type;
        return it;
    }
    /// c7/c8/c9: type 0 is the legacy ArrayBuffer, -1 in c7 a 96-bit timestamp (12 bytes read whatever the
    /// length says, like notepack).
    item ext_variable(std::size_t n, bool ext8) {
        const std::int8_t type = i8();
        if (type == 0)
            return bytes(tag::array_buffer, n);
        if (type == -1 && ext8) {
            need(12);
            const double ns = u32();
            const double hi = i32();
            const double lo = u32();
            // notepack's double arithmetic, rounding included (ns is not checked against 10^9 either).
            return date((hi * 4294967296.0 + lo) * 1e3 + ns / 1e6);
        }
        return ext(type, n);
    }
    item ext_fixed(std::size_t n) {
        const std::int8_t type = i8();
        if (n == 1 && type == 0) { // legacy undefined; its data byte is skipped
            take(1);
            return make(tag::undefined);
        }
        if (n == 4 && type == -1) // timestamp 32
            return date(u32() * 1e3);
        if (n == 8 && type == 0) { // legacy Date: int64 milliseconds
            need(8);
            const double hi = i32() * 4294967296.0;
            const double lo = u32();
            return date(hi + lo);
        }
        if (n == 8 && type == -1) { // timestamp 64: 30-bit nanoseconds, 34-bit seconds
            need(8);
            const std::uint32_t hi = u32();
            const std::uint32_t lo = u32();
            const double seconds = (hi & 0x3) * 4294967296.0 + lo;
            return date(seconds * 1e3 + (hi >> 2) / 1e6);
        }
        return ext(type, n);
    }

    item next() {
        const std::uint8_t c = u8();
        if (c <= 0x7f)
            return integer(c);
        if (c <= 0x8f)
            return container(tag::map, c & 0x0f);
        if (c <= 0x9f)
            return container(tag::array, c & 0x0f);
        if (c <= 0xbf)
            return bytes(tag::str, c & 0x1f);
        if (c >= 0xe0)
            return integer(static_cast<std::int8_t>(c));
        switch (c) {
        case 0xc0:
            return make(tag::nil);
        case 0xc2:
        case 0xc3: {
            item it = make(tag::boolean);
            it.boolean = c == 0xc3;
            return it;
        }
        case 0xc4:
            return bytes(tag::bin, u8());
        case 0xc5:
            return bytes(tag::bin, u16());
        case 0xc6:
            return bytes(tag::bin, u32());
        case 0xc7:
            return ext_variable(u8(), true);
        case 0xc8:
            return ext_variable(u16(), false);
        case 0xc9:
            return ext_variable(u32(), false);
        case 0xca:
            need(4);
            return number(mp_load_float(&p_));
        case 0xcb:
            need(8);
            return number(mp_load_double(&p_));
        case 0xcc:
            return integer(u8());
        case 0xcd:
            return integer(u16());
        case 0xce:
            return integer(u32());
        case 0xcf: {
            const std::uint64_t v = u64();
            if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return integer(static_cast<std::int64_t>(v));
            item it = make(tag::uinteger);
            it.uinteger = v;
            return it;
        }
        case 0xd0:
            return integer(i8());
        case 0xd1:
            return integer(static_cast<std::int16_t>(u16()));
        case 0xd2:
            return integer(i32());
        case 0xd3:
            return integer(static_cast<std::int64_t>(u64()));
        case 0xd4:
            return ext_fixed(1);
        case 0xd5:
            return ext_fixed(2);
        case 0xd6:
            return ext_fixed(4);
        case 0xd7:
            return ext_fixed(8);
        case 0xd8:
            return ext_fixed(16);
        case 0xd9:
            return bytes(tag::str, u8());
        case 0xda:
            return bytes(tag::str, u16());
        case 0xdb:
            return bytes(tag::str, u32());
        case 0xdc:
            return container(tag::array, u16());
        case 0xdd:
            return container(tag::array, u32());
        case 0xde:
            return container(tag::map, u16());
        case 0xdf:
            return container(tag::map, u32());
        default:
            fail(); // 0xc1, never used
        }
    }

    // ---- limits

    /// A container (array, map, or the [type, Buffer] of an ext) at nesting `depth` (0 = top level).
    void enter(std::size_t depth, std::size_t elements) {
        if (depth >= limits_.max_depth)
            fail();
        if (elements > limits_.max_elements - elements_)
            fail();
        elements_ += elements;
    }

    // ---- values

    json::value placeholder(std::string_view bytes) {
        const std::uint64_t num = attachments_.size();
        attachments_.emplace_back(bytes);
        // `num` is uint64 (as make_placeholder writes it): decoded ints below 2^63 are int64, so a map that
        // merely looks like a placeholder is never taken for one of ours by renumber().
        return json::object{{"_placeholder", true}, {"num", num}};
    }

    json::value build(const item& it, std::size_t depth, bool& undefined) {
        switch (it.kind) {
        case tag::nil:
            return nullptr;
        case tag::undefined:
            undefined = true;
            return nullptr;
        case tag::boolean:
            return it.boolean;
        case tag::integer:
            return it.integer;
        case tag::uinteger:
            return it.uinteger;
        case tag::number:
            // JSON.stringify writes NaN and ±Infinity as null (a JSON value cannot hold them), -0 as 0.
            if (!std::isfinite(it.number))
                return nullptr;
            return it.number + 0.0;
        case tag::str:
            if (is_ascii(it.bytes)) // the common case: no copy to repair
                return json::string(it.bytes);
            return json::string(utf8_text(it.bytes));
        case tag::bin:
        case tag::array_buffer:
            return placeholder(it.bytes);
        case tag::date:
            if (std::isnan(it.number))
                return nullptr; // JSON.stringify(new Date(NaN))
            return json::string(iso_string(it.number));
        case tag::ext: {
            enter(depth, 2);
            json::array a;
            a.reserve(2);
            a.emplace_back(static_cast<std::int64_t>(it.ext_type));
            a.push_back(placeholder(it.bytes));
            return a;
        }
        case tag::array: {
            enter(depth, it.size);
            json::array a;
            a.reserve(it.size);
            for (std::size_t i = 0; i < it.size; ++i) {
                bool u = false; // undefined in an array is written null
                a.push_back(build(next(), depth + 1, u));
            }
            return a;
        }
        case tag::map: {
            bool setter = true;
            return build_map(it.size, depth, setter);
        }
        }
        fail();
    }

    /// notepack's `value[key] = parse()` on `{}`: keys through ToPropertyKey, the last value of a repeated
    /// key in the place of the first, `__proto__` through Object.prototype's setter (no property), then
    /// listed as JSON.stringify lists them (array indices first, undefined values left out). `setter` says
    /// whether `__proto__` still reaches that setter from this object (false once its prototype is null).
    json::object build_map(std::size_t n, std::size_t depth, bool& setter) {
        enter(depth, n);
        json::object obj;
        obj.reserve(n);
        std::vector<char> undefined; // by position in `obj`; shorter than `obj` when the rest are defined
        bool any_undefined = false, any_index = false;
        for (std::size_t i = 0; i < n; ++i) {
            std::string scratch;
            const std::string_view key = key_view(next(), depth + 1, scratch);
            const item vi = next();
            if (setter && key == "__proto__") {
                const std::size_t mark = attachments_.size();
                switch (vi.kind) {
                case tag::date:
                case tag::bin:
                case tag::array_buffer:
                    // An object inheriting Date's or Buffer's toJSON, or passing `instanceof ArrayBuffer`,
                    // makes Node throw when it re-emits it: refused.
                    fail();
                case tag::nil:
                    setter = false;
                    break;
                case tag::map: {
                    bool inner = true;
                    build_map(vi.size, depth + 1, inner);
                    setter = inner;
                    break;
                }
                default: { // a primitive is ignored; an array makes an invisible prototype
                    bool u = false;
                    build(vi, depth + 1, u);
                }
                }
                attachments_.resize(mark);
                continue;
            }
            bool u = false;
            json::value v = build(vi, depth + 1, u);
            std::size_t pos = 0;
            if (auto found = obj.find(key); found != obj.end()) {
                found->value() = std::move(v);
                pos = static_cast<std::size_t>(found - obj.begin());
                if (attachments_.size() > base_)
                    renumber_ = true; // the replaced value may have held attachments
            } else {
                std::uint32_t index = 0;
                any_index = any_index || array_index(key, index);
                pos = obj.size();
                obj.emplace(key, std::move(v));
            }
            if (u || pos < undefined.size()) {
                if (undefined.size() <= pos)
                    undefined.resize(pos + 1, 0);
                undefined[pos] = u;
                any_undefined = any_undefined || u;
            }
        }
        if (!any_undefined && !any_index)
            return obj;

        // Array indices first in ascending order, then the other keys in creation order.
        auto is_undefined = [&](std::size_t pos) { return pos < undefined.size() && undefined[pos]; };
        std::vector<std::pair<std::uint32_t, std::size_t>> indices;
        for (std::size_t pos = 0; pos < obj.size(); ++pos) {
            std::uint32_t index = 0;
            if (!is_undefined(pos) && array_index((obj.begin() + pos)->key(), index))
                indices.emplace_back(index, pos);
        }
        std::sort(indices.begin(), indices.end());
        std::vector<char> placed(obj.size(), 0);
        json::object out;
        out.reserve(obj.size());
        bool moved = false;
        for (const auto& [index, pos] : indices) {
            auto& kv = *(obj.begin() + pos);
            moved = moved || out.size() != pos;
            out.emplace(kv.key(), std::move(kv.value()));
            placed[pos] = 1;
        }
        for (std::size_t pos = 0; pos < obj.size(); ++pos) {
            if (placed[pos] || is_undefined(pos))
                continue;
            auto& kv = *(obj.begin() + pos);
            out.emplace(kv.key(), std::move(kv.value()));
        }
        if (moved && attachments_.size() > base_)
            renumber_ = true; // socket.io numbers attachments in property order
        return out;
    }

    // ---- property keys (never in the result: a Buffer in a key is text, not an attachment)

    /// ToPropertyKey of a decoded key, without a copy for an ASCII string (the common case); otherwise the
    /// text is made in `scratch`.
    std::string_view key_view(const item& it, std::size_t depth, std::string& scratch) {
        if (it.kind == tag::str && is_ascii(it.bytes))
            return it.bytes;
        scratch = key_string(it, depth);
        return scratch;
    }

    /// ToPropertyKey of a decoded key.
    std::string key_string(const item& it, std::size_t depth) {
        if (it.kind == tag::str)
            return utf8_text(it.bytes);
        return js_string(it, depth);
    }

    /// ToString of what notepack decodes. Plain objects are "[object Object]"; one that has its own
    /// `toString`, or a prototype that is not a primitive-ignored value, makes JS throw (or depends on the
    /// prototype chain): refused.
    std::string js_string(const item& it, std::size_t depth) {
        switch (it.kind) {
        case tag::nil:
            return "null";
        case tag::undefined:
            return "undefined";
        case tag::boolean:
            return it.boolean ? "true" : "false";
        case tag::integer: // a JS number: int64 rounds to double as notepack's hi * 2^32 + lo does
            return js_number(static_cast<double>(it.integer));
        case tag::uinteger:
            return js_number(static_cast<double>(it.uinteger));
        case tag::number:
            return js_number(it.number);
        case tag::str:
        case tag::bin:
            return utf8_text(it.bytes);
        case tag::array_buffer:
            return "[object ArrayBuffer]";
        case tag::date:
            return date_string(it.number);
        case tag::ext:
            enter(depth, 2);
            return std::to_string(it.ext_type) + "," + utf8_text(it.bytes);
        case tag::array: { // Array.prototype.join(","): null and undefined are empty
            enter(depth, it.size);
            std::string s;
            for (std::size_t i = 0; i < it.size; ++i) {
                if (i > 0)
                    s += ',';
                const item e = next();
                if (e.kind != tag::nil && e.kind != tag::undefined)
                    s += js_string(e, depth + 1);
            }
            return s;
        }
        case tag::map: {
            enter(depth, it.size);
            for (std::size_t i = 0; i < it.size; ++i) {
                const std::string key = key_string(next(), depth + 1);
                const item v = next();
                if (key == "toString")
                    fail(); // not callable: String() throws a TypeError
                if (key == "__proto__" && v.kind != tag::boolean && v.kind != tag::integer &&
                    v.kind != tag::uinteger && v.kind != tag::number && v.kind != tag::str &&
                    v.kind != tag::undefined)
                    fail();
                skip(v, depth + 1);
            }
            return "[object Object]";
        }
        }
        fail();
    }

    /// Reads and checks a value nobody sees (the values of a map used as a key). Its keys still go through
    /// ToPropertyKey, which can fail.
    void skip(const item& it, std::size_t depth) {
        switch (it.kind) {
        case tag::ext:
            enter(depth, 2);
            return;
        case tag::array:
            enter(depth, it.size);
            for (std::size_t i = 0; i < it.size; ++i)
                skip(next(), depth + 1);
            return;
        case tag::map:
            enter(depth, it.size);
            for (std::size_t i = 0; i < it.size; ++i) {
                key_string(next(), depth + 1);
                skip(next(), depth + 1);
            }
            return;
        default:
            return;
        }
    }

    // ---- attachments in the order socket.io would number them

    bool ours(const json::object& o) const {
        if (o.size() != 2)
            return false;
        const auto* flag = o.if_contains("_placeholder");
        const auto* num = o.if_contains("num");
        return flag && *flag == true && num && num->is_uint64() && num->get_uint64() >= base_ &&
               num->get_uint64() < attachments_.size();
    }

    void renumber(json::value& v, std::vector<std::string>& ordered) {
        if (auto* a = v.if_array()) {
            for (auto& e : *a)
                renumber(e, ordered);
        } else if (auto* o = v.if_object()) {
            if (ours(*o)) {
                auto& num = o->at("num");
                auto& bytes = attachments_[static_cast<std::size_t>(num.get_uint64())];
                num = static_cast<std::uint64_t>(base_ + ordered.size());
                ordered.push_back(std::move(bytes));
                return;
            }
            for (auto& kv : *o)
                renumber(kv.value(), ordered);
        }
    }

    const char* p_;
    const char* end_;
    std::vector<std::string>& attachments_;
    const std::size_t base_;
    const msgpack_limits& limits_;
    std::size_t elements_ = 0;
    bool renumber_ = false;
};

} // namespace

std::error_code msgpack_decode(std::string_view bytes, boost::json::value& out,
                               std::vector<std::string>& attachments, const msgpack_limits& limits) {
    const std::size_t base = attachments.size();
    try {
        decoder d(bytes, attachments, limits);
        out = d.run();
        return {};
    } catch (const malformed&) {
        attachments.resize(base);
        return std::make_error_code(std::errc::bad_message);
    }
}

} // namespace sio::msgpack_detail
