// RESP replies from bytes: the guard's walk over the RESP structure, and hiredis's reader building our
// `reply` values directly (its object functions), with no tree of redisReply to convert and free.
#include "resp_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

namespace sio::redis_detail {

// --- the guard -------------------------------------------------------------------------------------------

std::error_code resp_guard::check(const char* p, std::size_t n) {
    std::size_t i = 0;
    whole_end_ = 0;
    for (auto seen = replies_; i < n; seen = replies_) {
        switch (state_) {
        case state::type:
            type_ = p[i];
            ++i;
            if (++bytes_ > max_)
                return errc::reply_too_large;
            if (type_ != '+' && type_ != '-' && type_ != ':' && type_ != '$' && type_ != '*')
                return errc::protocol_error;
            number_.clear();
            state_ = state::line;
            break;
        case state::line: {
            const void* found = std::memchr(p + i, '\n', n - i);
            const auto* nl = static_cast<const char*>(found);
            const std::size_t take = nl ? static_cast<std::size_t>(nl - (p + i)) + 1 : n - i;
            const bool cr_before = nl ? (nl > p + i ? nl[-1] == '\r' : last_cr_) : false;
            if (type_ == '$' || type_ == '*') {
                if (number_.size() + take > 24)
                    return errc::protocol_error;
                number_.append(p + i, take);
            }
            last_cr_ = p[i + take - 1] == '\r';
            i += take;
            bytes_ += take;
            if (bytes_ > max_)
                return errc::reply_too_large;
            if (!nl)
                break;
            if (!cr_before)
                return errc::protocol_error;
            if (auto ec = end_of_line())
                return ec;
            break;
        }
        case state::bulk: {
            const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(bulk_left_, n - i));
            i += take;
            bytes_ += take;
            bulk_left_ -= take;
            if (bytes_ > max_)
                return errc::reply_too_large;
            if (bulk_left_ == 0)
                item_done();
            break;
        }
        }
        if (replies_ != seen)
            whole_end_ = i;
    }
    return {};
}

std::error_code resp_guard::end_of_line() {
    if (type_ != '$' && type_ != '*') {
        item_done();
        return {};
    }
    // number_ is "<digits>\r\n"
    std::int64_t v = 0;
    const char* first = number_.data();
    const char* last = number_.data() + number_.size() - 2;
    const auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec != std::errc{} || ptr != last || first == last)
        return errc::protocol_error;
    if (v < -1)
        return errc::protocol_error;
    if (type_ == '$') {
        if (v == -1) {
            item_done();
            return {};
        }
        if (static_cast<std::uint64_t>(v) + 2 > max_ - bytes_)
            return errc::reply_too_large;
        bulk_left_ = static_cast<std::uint64_t>(v) + 2;
        state_ = state::bulk;
        return {};
    }
    if (v <= 0) {
        item_done();
        return {};
    }
    if (stack_.size() >= max_reply_nesting)
        return errc::protocol_error;
    // Every element takes 3 bytes at least ("+\r\n").
    if (static_cast<std::uint64_t>(v) > (max_ - bytes_) / 3)
        return errc::reply_too_large;
    if (static_cast<std::uint64_t>(v) > max_elements_ - elements_)
        return errc::reply_too_large;
    // The elements are allocated when their array is declared: what they cost must stay a small
    // multiple of what the reply has sent so far (plus a fixed allowance), so a reply of tiny
    // elements cannot make memory grow far beyond its own size.
    const std::uint64_t cost = static_cast<std::uint64_t>(v) * element_cost;
    if (charged_ + cost > element_allowance + element_ratio * bytes_)
        return errc::reply_too_large;
    charged_ += cost;
    elements_ += static_cast<std::size_t>(v);
    stack_.push_back(v);
    state_ = state::type;
    return {};
}

void resp_guard::item_done() {
    state_ = state::type;
    while (!stack_.empty()) {
        if (--stack_.back() > 0)
            return;
        stack_.pop_back();
    }
    bytes_ = 0; // a whole reply ended
    elements_ = 0;
    charged_ = 0;
    ++replies_;
}

// --- hiredis's reader ------------------------------------------------------------------------------------

namespace {

// hiredis's reader builds our `reply` objects itself (its object functions): no tree of redisReply
// to convert and free afterwards. The root is allocated; every other element is constructed in place in
// its parent's `elements`, sized when the array is declared (the guard bounded the count), so the
// pointers hiredis keeps to open arrays stay valid. The reader frees only the root (`free_reply`).
// Nothing may throw through hiredis (C): allocation failures return null, which hiredis reports as
// REDIS_ERR_OOM.

/// Where the element of `task` goes: a new root, or its slot in the parent array.
reply* reply_slot(const redisReadTask* task) noexcept {
    if (task->parent == nullptr)
        return new (std::nothrow) reply;
    auto* parent = static_cast<reply*>(task->parent->obj);
    if (parent == nullptr || task->idx < 0 || static_cast<std::size_t>(task->idx) >= parent->elements.size())
        return nullptr;
    return &parent->elements[static_cast<std::size_t>(task->idx)];
}

/// Undoes `reply_slot` after a failure.
void reply_unslot(const redisReadTask* task, reply* r) noexcept {
    if (task->parent == nullptr)
        delete r;
}

void* create_string(const redisReadTask* task, char* str, size_t len) noexcept {
    reply* r = reply_slot(task);
    if (r == nullptr)
        return nullptr;
    try {
        r->str.assign(str, len);
    } catch (...) {
        reply_unslot(task, r);
        return nullptr;
    }
    r->type = task->type == REDIS_REPLY_STRING   ? reply::kind::string
              : task->type == REDIS_REPLY_STATUS ? reply::kind::status
                                                 : reply::kind::error;
    return r;
}

#if HIREDIS_MAJOR >= 1
void* create_array(const redisReadTask* task, size_t n) noexcept {
#else
void* create_array(const redisReadTask* task, int n) noexcept {
#endif
    reply* r = reply_slot(task);
    if (r == nullptr)
        return nullptr;
    r->type = reply::kind::array;
    try {
        r->elements.resize(static_cast<std::size_t>(n));
    } catch (...) {
        reply_unslot(task, r);
        return nullptr;
    }
    return r;
}

void* create_integer(const redisReadTask* task, long long v) noexcept {
    reply* r = reply_slot(task);
    if (r == nullptr)
        return nullptr;
    r->type = reply::kind::integer;
    r->integer = v;
    return r;
}

void* create_nil(const redisReadTask* task) noexcept {
    reply* r = reply_slot(task);
    if (r != nullptr)
        r->type = reply::kind::nil;
    return r;
}

#if HIREDIS_MAJOR >= 1
// RESP3 only (never sent to a RESP2 connection; the guard refuses these types anyway).
void* create_double(const redisReadTask* task, double, char*, size_t) noexcept {
    return create_nil(task);
}
void* create_bool(const redisReadTask* task, int) noexcept {
    return create_nil(task);
}
#endif

void free_reply(void* root) noexcept {
    delete static_cast<reply*>(root);
}

redisReplyObjectFunctions* reply_functions() {
    static redisReplyObjectFunctions fn = [] {
        redisReplyObjectFunctions f{};
        f.createString = create_string;
        f.createArray = create_array;
        f.createInteger = create_integer;
        f.createNil = create_nil;
#if HIREDIS_MAJOR >= 1
        f.createDouble = create_double;
        f.createBool = create_bool;
#endif
        f.freeObject = free_reply;
        return f;
    }();
    return &fn;
}

} // namespace

resp_reader::resp_reader(std::size_t max_bytes, std::size_t max_elements)
    : guard_(max_bytes, max_elements), reader_(redisReaderCreateWithFunctions(reply_functions())) {}

resp_reader::~resp_reader() {
    if (reader_)
        redisReaderFree(reader_);
}

std::error_code resp_reader::feed(const char* p, std::size_t n) {
    if (!reader_)
        return std::make_error_code(std::errc::not_enough_memory);
    if (refused_)
        return refused_;
    if (auto ec = guard_.check(p, n)) {
        // The replies that ended before the refused one still go to their commands.
        const std::size_t whole = guard_.whole_replies_end();
        if (whole > 0 && redisReaderFeed(reader_, p, whole) != REDIS_OK)
            return errc::protocol_error;
        refused_ = ec;
        return {};
    }
    if (redisReaderFeed(reader_, p, n) != REDIS_OK)
        return errc::protocol_error;
    return {};
}

bool resp_reader::next(reply& out, std::error_code& ec) {
    if (!reader_)
        return false;
    void* obj = nullptr;
    if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
        if (reader_->err == REDIS_ERR_OOM)
            ec = std::make_error_code(std::errc::not_enough_memory);
        else
            ec = errc::protocol_error;
        return false;
    }
    if (obj == nullptr) {
        ec = refused_;
        return false;
    }
    const std::unique_ptr<reply> root(static_cast<reply*>(obj));
    out = std::move(*root);
    return true;
}

} // namespace sio::redis_detail
