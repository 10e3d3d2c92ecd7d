// Fuzzes the RESP reader of the Redis connections (the guard in front of hiredis's reader): any byte
// stream, fed whole or in three pieces, ends in replies and maybe an error (never a crash); after every
// piece accepted the reply in progress stays within the byte and element budgets; every reply yielded
// respects them (elements in all, nesting); the reader refuses whatever its guard refuses; and where the
// input is split changes neither the guard's verdict nor whether the reader fails, and the replies of
// the two runs agree (a failing run may yield fewer: replies that shared a piece with the bad bytes).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

#include "adapter/redis/resp_reader.hpp"

using namespace sio::redis_detail;

namespace {

constexpr std::size_t max_bytes = 4096;
constexpr std::size_t max_elements = 64;

struct outcome {
    std::vector<reply> replies;
    std::error_code error;       ///< the reader's
    std::error_code guard_error; ///< the guard's, alone
};

bool same(const reply& a, const reply& b) {
    if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
        a.elements.size() != b.elements.size())
        return false;
    for (std::size_t i = 0; i < a.elements.size(); ++i)
        if (!same(a.elements[i], b.elements[i]))
            return false;
    return true;
}

/// Elements below `r` (nested ones included); aborts when the arrays nest deeper than allowed.
std::size_t count_elements(const reply& r, std::size_t depth) {
    if (depth > max_reply_nesting)
        std::abort();
    std::size_t n = r.elements.size();
    for (const auto& e : r.elements)
        n += count_elements(e, depth + 1);
    return n;
}

void check_budget(const resp_guard& g) {
    if (g.reply_bytes() > max_bytes || g.reply_elements() > max_elements)
        std::abort();
}

outcome run(const std::string& bytes, std::size_t first, std::size_t second) {
    outcome out;
    // The guard alone: its counters after each piece it accepted.
    resp_guard g(max_bytes, max_elements);
    const std::size_t cuts[] = {0, first, second, bytes.size()};
    for (int k = 0; k < 3 && !out.guard_error; ++k) {
        out.guard_error = g.check(bytes.data() + cuts[k], cuts[k + 1] - cuts[k]);
        if (!out.guard_error)
            check_budget(g);
    }
    // The reader: the guard, then hiredis.
    resp_reader r(max_bytes, max_elements);
    for (int k = 0; k < 3 && !out.error; ++k) {
        out.error = r.feed(bytes.data() + cuts[k], cuts[k + 1] - cuts[k]);
        reply one;
        while (!out.error && r.next(one, out.error)) {
            if (count_elements(one, 0) > max_elements)
                std::abort();
            out.replies.push_back(std::move(one));
        }
    }
    // The reader refuses at least what its guard refuses.
    if (out.guard_error && !out.error)
        std::abort();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    const std::string bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
    std::size_t first = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
    std::size_t second = bytes.empty() ? 0 : data[1] % (bytes.size() + 1);
    if (first > second)
        std::swap(first, second);
    const auto whole = run(bytes, bytes.size(), bytes.size());
    const auto parts = run(bytes, first, second);
    if (whole.guard_error != parts.guard_error || !whole.error != !parts.error)
        std::abort();
    if (!whole.error && whole.replies.size() != parts.replies.size())
        std::abort();
    for (std::size_t i = 0; i < std::min(whole.replies.size(), parts.replies.size()); ++i)
        if (!same(whole.replies[i], parts.replies[i]))
            std::abort();
    return 0;
}
