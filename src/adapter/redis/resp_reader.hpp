// Private to the library: reading RESP2 replies from bytes, with no I/O. A `resp_guard` follows the
// structure of the bytes before hiredis's reader sees them and enforces the limits that reader lacks; a
// `resp_reader` is the guard followed by hiredis's reader, and yields whole `reply` values. Both take the
// bytes in pieces of any size, as they arrive from a socket: where the input is split never changes the
// outcome.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "error.hpp"

struct redisReader; // hiredis

namespace sio::redis_detail {

/// One RESP reply.
struct reply {
    enum class kind { string, status, error, integer, nil, array } type = kind::nil;
    std::string str;             ///< string, status, error
    std::int64_t integer = 0;    ///< integer
    std::vector<reply> elements; ///< array
};

/// Arrays nested deeper than this are refused (hiredis 0.14 itself stops at 7 levels below the root).
inline constexpr std::size_t max_reply_nesting = 7;

/// Follows the RESP structure of the bytes received, before hiredis sees them, to enforce the limits
/// hiredis 0.14 does not have: the size of one reply (its `maxbuf` only says when to give an idle buffer
/// back), the length a bulk string or an array declares (refused before any of it arrives, so a hostile
/// `*2000000000` allocates nothing), the elements the arrays of one reply declare in all (each becomes
/// a `reply` as soon as its array is declared: 72 bytes for as little as 3 on the wire), and the nesting
/// depth. It accepts a subset of what hiredis accepts (every line must end with CRLF), so both always
/// agree on where a reply ends. Once `check` returned an error the guard must not be fed again.
class resp_guard {
public:
    resp_guard(std::size_t max_bytes, std::size_t max_elements)
        : max_(max_bytes), max_elements_(max_elements) {}

    /// Follows `n` more bytes: `errc::protocol_error` for bytes that are not RESP2 (or nest arrays deeper
    /// than `max_reply_nesting`), `errc::reply_too_large` when the reply in progress exceeds a limit.
    std::error_code check(const char* p, std::size_t n);

    /// The bytes of the reply in progress so far (never more than `max_bytes` after a successful check).
    std::size_t reply_bytes() const noexcept { return bytes_; }
    /// The elements its arrays declared so far (never more than `max_elements` after a successful check).
    std::size_t reply_elements() const noexcept { return elements_; }
    /// How many replies ended so far.
    std::uint64_t replies() const noexcept { return replies_; }
    /// Within the bytes of the last `check`: where the last reply that ended in them ended (0: none did).
    std::size_t whole_replies_end() const noexcept { return whole_end_; }

    /// What one element costs when its array is declared (a `reply`, with the slack of the allocator).
    static constexpr std::uint64_t element_cost = 80;
    /// The elements of one reply may cost this much, plus element_ratio times the reply's bytes so far.
    static constexpr std::uint64_t element_allowance = 1024 * 1024;
    static constexpr std::uint64_t element_ratio = 8;

private:
    enum class state { type, line, bulk };

    std::error_code end_of_line();
    void item_done();

    const std::size_t max_;
    const std::size_t max_elements_;
    state state_ = state::type;
    char type_ = 0;
    bool last_cr_ = false;
    std::string number_;
    std::uint64_t bulk_left_ = 0;
    std::vector<std::int64_t> stack_; ///< elements still expected by each open array
    std::size_t bytes_ = 0;           ///< bytes of the reply being received
    std::size_t elements_ = 0;        ///< elements its arrays declared so far
    std::uint64_t charged_ = 0;       ///< what those elements cost (element_cost each)
    std::uint64_t replies_ = 0;       ///< replies ended
    std::size_t whole_end_ = 0;       ///< see whole_replies_end()
};

/// The guard, then hiredis's reader: bytes in (`feed`), whole replies out (`next`). Not copyable. When the
/// guard refuses a reply, the replies that ended before it in the same bytes are still handed out by `next`,
/// then `next` reports the guard's error (so it is the refused reply's command that gets it). After an
/// error, the reader must not be used again (the connection is closed).
class resp_reader {
public:
    resp_reader(std::size_t max_bytes, std::size_t max_elements);
    ~resp_reader();
    resp_reader(const resp_reader&) = delete;
    resp_reader& operator=(const resp_reader&) = delete;

    /// Hands `n` more bytes over: `errc::protocol_error` when hiredis refuses them, or
    /// `std::errc::not_enough_memory`. The guard's error is reported by `next`, after the replies before it.
    std::error_code feed(const char* p, std::size_t n);

    /// True with the next complete reply; false when more bytes are needed, or on an error (`ec` set: the
    /// guard's, `errc::protocol_error`, or `std::errc::not_enough_memory`).
    bool next(reply& out, std::error_code& ec);

private:
    resp_guard guard_;
    redisReader* reader_;
    std::error_code refused_; ///< the guard's error, reported once the replies before it are taken
};

} // namespace sio::redis_detail
