// Private to the library: WebSocket framing (RFC 6455) for the server side of a plain, uncompressed
// WebSocket, written without Beast's stream so that frames are built once and written together.
// No I/O here: the session reads into a buffer, feeds it to a frame_parser, and writes what
// append_frame built.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sio::engineio::detail {

enum class ws_opcode : std::uint8_t {
    continuation = 0,
    text = 1,
    binary = 2,
    close = 8,
    ping = 9,
    pong = 10
};

/// WebSocket close status codes the server sends (RFC 6455 §7.4.1).
enum class ws_close_code : std::uint16_t {
    normal = 1000,
    protocol_error = 1002,
    invalid_payload = 1007,  // a text message that is not UTF-8
    policy_violation = 1008, // a message in more fragments than allowed
    too_big = 1009,
};

/// Appends one unmasked final frame: the header, then `prefix` and `payload` as its payload.
void append_frame(std::string& out, ws_opcode op, std::string_view prefix, std::string_view payload);
/// Appends a close frame carrying `code`.
void append_close_frame(std::string& out, std::uint16_t code);

/// True for a close code a peer may send (like the reference: the registered ones and 3000-4999).
bool valid_peer_close_code(std::uint16_t code) noexcept;

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) noexcept;

// The control frames of a client (RFC 6455 §5.5): what the server answers.

/// Appends to `out` the pong answering a ping that carried `payload` (§5.5.2: the same application data),
/// after removing the last `replaced` bytes of `out`: the pong of an earlier ping, when only the latest
/// ping is to be answered (§5.5.3 allows it). Returns the size of the pong appended.
std::uint8_t append_pong(std::string& out, std::string_view payload, std::size_t replaced);

/// How the server answers a client's close frame carrying `payload` (§5.5.1, §7.4).
struct close_answer {
    bool valid;         ///< true: a close frame echoing `code` (1000 when the client's carries none)
    std::uint16_t code; ///< false: the connection fails with this code
};
/// A one-byte payload or a code a peer may not send fails with 1002; a reason that is not UTF-8 with 1007
/// (like the reference).
close_answer answer_close(std::string_view payload) noexcept;

/// Splits what a client sends into messages and control frames. Client frames must be masked; they are
/// unmasked in place. Partial frames and fragmented messages are kept until the rest arrives; the
/// sizes kept are capped by `max_message` (plus one frame header).
class frame_parser {
public:
    /// What feed() hands over: a whole message (text or binary), or a control frame.
    struct event {
        ws_opcode op;
        std::string_view payload; ///< valid until the handler returns
    };
    /// Why parsing stopped; with `protocol_error`, `too_big`, `invalid_payload` or `too_many_fragments`
    /// the connection must close with that code (1002, 1009, 1007, 1008).
    enum class status { ok, stopped, protocol_error, too_big, invalid_payload, too_many_fragments };

    /// `max_message`: bytes of a message; `max_fragments`: frames of one fragmented message (empty
    /// continuation frames cost no memory, but a peer must not keep a message open forever with them).
    frame_parser(std::size_t max_message, std::size_t max_fragments) noexcept
        : max_message_(max_message),
          max_fragments_(static_cast<std::uint32_t>(std::min<std::size_t>(max_fragments, UINT32_MAX))) {}

    /// Parses `data` (modified: unmasked in place), calling `handler(const event&)` for each message and
    /// control frame; the handler returns false to stop (then `stopped` is returned and the rest is
    /// dropped). After an error the parser must not be fed again.
    template <class Handler>
    status feed(char* data, std::size_t size, Handler&& handler);

    /// Bytes kept between calls (a partial frame, a fragmented message).
    std::size_t buffered() const noexcept {
        return kept_ ? kept_->pending.size() + kept_->message.size() : 0;
    }

private:
    struct header {
        bool fin = false;
        ws_opcode op = ws_opcode::continuation;
        std::size_t header_size = 0;
        std::uint64_t payload_size = 0;
        std::uint32_t mask = 0;
    };
    enum class parse { complete, need_more, error, too_big };
    /// With need_more, `h.header_size` is how many bytes the header needs (2 until the length byte is in).
    parse parse_header(const unsigned char* p, std::size_t n, header& h) const noexcept;
    /// One complete frame whose payload is unmasked: hands it over or joins it to a fragmented message.
    template <class Handler>
    status frame(const header& h, char* payload, Handler& handler);

    /// What is kept between calls; allocated while something is (an idle connection keeps nothing).
    struct kept {
        std::string pending; ///< the start of a frame not complete yet
        std::string message; ///< the fragments of a message not finished yet
    };
    kept& keep() {
        if (!kept_)
            kept_ = std::make_unique<kept>();
        return *kept_;
    }
    void release_if_empty() noexcept {
        if (kept_ && kept_->pending.empty() && kept_->message.empty())
            kept_.reset();
    }
    std::size_t message_size() const noexcept { return kept_ ? kept_->message.size() : 0; }

    std::size_t max_message_;
    std::unique_ptr<kept> kept_;
    std::uint32_t max_fragments_;
    std::uint32_t fragments_ = 0;                    ///< frames of the fragmented message so far
    ws_opcode message_op_ = ws_opcode::continuation; ///< text or binary while a message is fragmented
};

/// The close code of a connection whose frames stopped parsing with `s` (an error status): 1002, 1009,
/// 1007 or 1008.
inline std::uint16_t failure_close_code(frame_parser::status s) noexcept {
    const auto code = s == frame_parser::status::too_big              ? ws_close_code::too_big
                      : s == frame_parser::status::invalid_payload    ? ws_close_code::invalid_payload
                      : s == frame_parser::status::too_many_fragments ? ws_close_code::policy_violation
                                                                      : ws_close_code::protocol_error;
    return static_cast<std::uint16_t>(code);
}

/// Unmasks `n` bytes in place with the 4-byte key `mask` (network order).
void unmask(char* p, std::size_t n, std::uint32_t mask) noexcept;

/// Watches the client's frames on their way into Beast's WebSocket stream (TLS, permessage-deflate), for the
/// close frames Beast answers differently from the reference and the session's own framing: a reason that
/// is not UTF-8 (Beast: 1002, they: 1007) and codes of 5000 and over (Beast echoes them, they: 1002).
/// Such a frame is rewritten in place (code 1007 with a blank reason, which Beast echoes; or code 1005,
/// which Beast refuses with 1002); saw_invalid_close() tells the session.
/// Only a close frame that arrives within one read is rewritten (a client trickling a close frame
/// byte by byte still gets Beast's 1002). Bytes are scanned once; payloads are skipped, not copied.
class close_frame_fixer {
public:
    /// Scans `n` more bytes of the client's stream.
    void scan(char* p, std::size_t n) noexcept;
    bool saw_invalid_close() const noexcept { return fixed_; }

private:
    unsigned char header_[14] = {};
    std::uint8_t have_ = 0;  ///< header bytes collected
    std::uint64_t skip_ = 0; ///< payload bytes of the current frame still to pass
    bool done_ = false;      ///< a close frame went by (or the stream is not understood): stop
    bool fixed_ = false;
};

template <class Handler>
frame_parser::status frame_parser::frame(const header& h, char* payload, Handler& handler) {
    const auto n = static_cast<std::size_t>(h.payload_size);
    switch (h.op) {
    case ws_opcode::close:
    case ws_opcode::ping:
    case ws_opcode::pong:
        return handler(event{h.op, std::string_view(payload, n)}) ? status::ok : status::stopped;
    case ws_opcode::text:
    case ws_opcode::binary:
        if (message_op_ != ws_opcode::continuation)
            return status::protocol_error; // a new message before the fragmented one ended
        if (!h.fin) {
            message_op_ = h.op;
            fragments_ = 1;
            keep().message.assign(payload, n);
            return status::ok;
        }
        if (h.op == ws_opcode::text && !valid_utf8(std::string_view(payload, n)))
            return status::invalid_payload;
        return handler(event{h.op, std::string_view(payload, n)}) ? status::ok : status::stopped;
    case ws_opcode::continuation: {
        if (message_op_ == ws_opcode::continuation)
            return status::protocol_error; // nothing to continue
        if (message_size() + n > max_message_)
            return status::too_big;
        if (++fragments_ > max_fragments_)
            return status::too_many_fragments;
        keep().message.append(payload, n);
        if (!h.fin)
            return status::ok;
        const ws_opcode op = message_op_;
        std::string whole = std::move(kept_->message);
        kept_->message.clear();
        release_if_empty();
        message_op_ = ws_opcode::continuation;
        if (op == ws_opcode::text && !valid_utf8(whole))
            return status::invalid_payload;
        return handler(event{op, whole}) ? status::ok : status::stopped;
    }
    }
    return status::protocol_error;
}

template <class Handler>
frame_parser::status frame_parser::feed(char* data, std::size_t size, Handler&& handler) {
    // A partial frame from the last call: complete it first (only its missing bytes are copied).
    if (kept_ && !kept_->pending.empty()) {
        std::string& pending = kept_->pending;
        header h;
        for (;;) {
            const auto r =
                parse_header(reinterpret_cast<const unsigned char*>(pending.data()), pending.size(), h);
            if (r == parse::error)
                return status::protocol_error;
            if (r == parse::too_big)
                return status::too_big;
            // need_more: `header_size` is what the header needs; complete: the frame's whole size.
            const std::size_t want =
                h.header_size + (r == parse::complete ? static_cast<std::size_t>(h.payload_size) : 0);
            const std::size_t take = std::min(size, want - pending.size());
            pending.append(data, take);
            data += take;
            size -= take;
            if (pending.size() < want)
                return status::ok; // still partial: everything was taken
            if (r == parse::complete)
                break;
        }
        std::string f = std::move(pending);
        pending.clear();
        release_if_empty();
        char* payload = f.data() + h.header_size;
        unmask(payload, static_cast<std::size_t>(h.payload_size), h.mask);
        if (const auto s = frame(h, payload, handler); s != status::ok)
            return s;
    }
    while (size > 0) {
        header h;
        const auto r = parse_header(reinterpret_cast<const unsigned char*>(data), size, h);
        if (r == parse::error)
            return status::protocol_error;
        if (r == parse::too_big)
            return status::too_big;
        if (r == parse::need_more || size - h.header_size < h.payload_size) {
            keep().pending.assign(data, size);
            return status::ok;
        }
        char* payload = data + h.header_size;
        const auto n = static_cast<std::size_t>(h.payload_size);
        unmask(payload, n, h.mask);
        if (const auto s = frame(h, payload, handler); s != status::ok)
            return s;
        data = payload + n;
        size -= h.header_size + n;
    }
    return status::ok;
}

} // namespace sio::engineio::detail
