// The replay buffer and saved sessions of one namespace (connection state recovery).
#include "recovery_store.hpp"

#include <boost/json/string.hpp>

#include <algorithm>
#include <charconv>

namespace sio::detail {

namespace {

/// A pid is what `generate_socket_id` makes: 20 characters of base64url.
bool well_formed_pid(std::string_view pid) noexcept {
    if (pid.size() != 20)
        return false;
    return std::all_of(pid.begin(), pid.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_';
    });
}

std::size_t encoded_size(const protocol::encoded_packet& e) noexcept {
    std::size_t n = e.text ? e.text->size() : 0;
    for (const auto& a : e.attachments)
        n += a ? a->size() : 0;
    return n;
}

bool shares(const std::vector<std::string>& a, const std::vector<std::string>& b) noexcept {
    return std::any_of(a.begin(), a.end(),
                       [&](const std::string& r) { return std::find(b.begin(), b.end(), r) != b.end(); });
}

} // namespace

recovery_store::recovery_store(connection_state_recovery_options options) : options_(std::move(options)) {}

bool recovery_store::keeps(const protocol::packet& p, const broadcast_flags& flags) noexcept {
    const bool event =
        p.type == protocol::packet_type::event || p.type == protocol::packet_type::binary_event;
    return event && !p.id && !flags.volatile_ && p.data.is_array();
}

std::string recovery_store::offset_text(std::uint64_t seq) {
    return std::to_string(seq);
}

std::optional<std::uint64_t> recovery_store::parse_offset(std::string_view text) noexcept {
    if (text.empty() || text.size() > 20 || (text.size() > 1 && text.front() == '0'))
        return std::nullopt;
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v == 0)
        return std::nullopt;
    return v;
}

protocol::encoded_packet recovery_store::store(protocol::packet& p, const broadcast_flags& flags,
                                               clock::time_point now, const protocol::packet_codec* codec) {
    const std::uint64_t seq = next_seq_++;
    p.data.as_array().emplace_back(offset_text(seq));
    auto encoded = codec ? codec->encode(p) : protocol::encode(p);
    const std::size_t bytes = encoded_size(encoded) + sizeof(stored);
    packets_.push_back(stored{seq, now, flags.rooms, flags.except, encoded, bytes});
    bytes_ += bytes;
    drop_older_than(now - options_.max_disconnection_duration);
    while (!packets_.empty() &&
           (packets_.size() > options_.max_buffered_packets || bytes_ > options_.max_buffered_bytes))
        drop_front();
    return encoded;
}

void recovery_store::drop_front() {
    bytes_ -= packets_.front().bytes;
    dropped_through_ = packets_.front().seq;
    packets_.pop_front();
}

void recovery_store::drop_older_than(clock::time_point limit) {
    while (!packets_.empty() && packets_.front().at < limit)
        drop_front();
}

void recovery_store::persist(recovery_session session, std::uint64_t first_seq, clock::time_point now) {
    const auto expires = now + options_.max_disconnection_duration;
    std::string pid = session.pid;
    expiries_.emplace_back(expires, pid);
    sessions_.insert_or_assign(std::move(pid),
                               saved{std::move(session), first_seq, next_seq_, expires, ++generations_});
}

bool recovery_store::owed(const stored& p, const recovery_session& s) {
    // The reference's rule: some room of the packet is one of the session's (or no room: everybody), and
    // none of its excepted rooms is.
    if (!p.rooms.empty() && !shares(p.rooms, s.rooms))
        return false;
    return !shares(p.except, s.rooms);
}

std::optional<restored_session> recovery_store::restore(std::string_view pid,
                                                        const std::optional<std::string>& offset,
                                                        clock::time_point now, failure* why) {
    const auto fail = [why](failure f) -> std::optional<restored_session> {
        if (why)
            *why = f;
        return std::nullopt;
    };
    if (why)
        *why = failure::none;
    if (!well_formed_pid(pid))
        return fail(failure::bad_pid);
    // An expired session is not restored, even before the sweep ran (which reports it).
    const auto it = sessions_.find(std::string(pid));
    if (it == sessions_.end() || it->second.expires <= now)
        return fail(failure::unknown_pid);
    drop_older_than(now - options_.max_disconnection_duration);
    std::uint64_t from = 0; // the first sequence owed
    if (offset) {
        const auto seq = parse_offset(*offset);
        if (!seq || *seq >= next_seq_) // not an offset, or one from the future
            return fail(failure::bad_offset);
        from = *seq + 1;
    } else {
        if (!options_.recover_without_offset)
            return fail(failure::no_offset);
        from = it->second.persist_seq;
    }
    from = std::max(from, it->second.first_seq);
    if (from <= dropped_through_) // a packet it may be owed is gone: no partial replay
        return fail(failure::packets_dropped);
    restored_session out;
    out.session = it->second.session;
    append_owed(from, out);
    out.replayed_until = next_seq_;
    out.generation = it->second.generation;
    return out;
}

void recovery_store::append_owed(std::uint64_t from, restored_session& r) const {
    const auto first = std::lower_bound(packets_.begin(), packets_.end(), from,
                                        [](const stored& p, std::uint64_t s) { return p.seq < s; });
    for (auto p = first; p != packets_.end(); ++p)
        if (owed(*p, r.session))
            r.missed.push_back(p->packet);
}

bool recovery_store::admit(restored_session& r, clock::time_point now) {
    if (!complete(r, now))
        return false;
    consume(r);
    return true;
}

bool recovery_store::complete(restored_session& r, clock::time_point now) {
    const auto it = sessions_.find(r.session.pid);
    if (it == sessions_.end() || it->second.generation != r.generation || it->second.expires <= now)
        return false;
    if (r.replayed_until <= dropped_through_) // something stored since the restore is gone already
        return false;
    append_owed(r.replayed_until, r);
    r.replayed_until = next_seq_;
    return true;
}

void recovery_store::consume(const restored_session& r) {
    const auto it = sessions_.find(r.session.pid);
    if (it != sessions_.end() && it->second.generation == r.generation)
        sessions_.erase(it);
}

std::vector<recovery_session> recovery_store::expire(clock::time_point now) {
    drop_older_than(now - options_.max_disconnection_duration);
    std::vector<recovery_session> out;
    while (!expiries_.empty() && expiries_.front().first <= now) {
        const auto it = sessions_.find(expiries_.front().second);
        // Skip a stale entry: the session was restored, or saved again later.
        if (it != sessions_.end() && it->second.expires == expiries_.front().first) {
            out.push_back(std::move(it->second.session));
            sessions_.erase(it);
        }
        expiries_.pop_front();
    }
    return out;
}

std::optional<recovery_store::clock::time_point> recovery_store::next_expiry() {
    while (!expiries_.empty()) {
        const auto& [at, pid] = expiries_.front();
        const auto it = sessions_.find(pid);
        if (it != sessions_.end() && it->second.expires == at)
            return at;
        expiries_.pop_front(); // stale: restored, or saved again later
    }
    return std::nullopt;
}

} // namespace sio::detail
