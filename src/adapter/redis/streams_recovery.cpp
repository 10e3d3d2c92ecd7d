// The admission step of the streams adapter's connection state recovery (see streams_recovery.hpp).
#include "streams_recovery.hpp"

#include <algorithm>
#include <charconv>

#include "error.hpp"

namespace sio::streams_detail {

std::optional<entry_id> entry_id::parse(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size())
        return std::nullopt;
    entry_id id;
    const auto ms = text.substr(0, dash);
    const auto seq = text.substr(dash + 1);
    auto full = [](std::string_view s, std::uint64_t& out) {
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && end == s.data() + s.size();
    };
    if (!full(ms, id.ms) || !full(seq, id.seq))
        return std::nullopt;
    return id;
}

bool restore_retries::again(std::error_code ec, clock::time_point now) {
    const bool contention = ec == redis_detail::errc::not_connected || ec == std::errc::connection_aborted;
    if (contention && now < contention_until_)
        return true;
    return left_-- > 0;
}

std::uint64_t admission_window::begin(std::optional<entry_id> reader_floor, clock::time_point now) {
    expire(now);
    restore r;
    r.started = now;
    r.first_record = next_record_;
    r.reader_floor = reader_floor;
    const std::uint64_t token = next_token_++;
    pending_.emplace(token, std::move(r));
    return token;
}

void admission_window::read(std::uint64_t token, entry_id until,
                            std::vector<std::pair<entry_id, entry_source>> replayed) {
    const auto it = pending_.find(token);
    if (it == pending_.end())
        return;
    it->second.read = true;
    it->second.until = until;
    it->second.replayed = std::move(replayed);
}

void admission_window::abandon(std::uint64_t token) {
    pending_.erase(token);
    prune();
}

std::vector<std::string> admission_window::delivered(entry_id id, entry_source source) {
    if (!pending_.empty() || !awaited_.empty())
        expire(clock::now()); // a restore never admitted (refused, closed) stops the recording after max_wait
    if (source == entry_source::reader)
        last_reader_ = std::max(last_reader_.value_or(id), id);
    else if (source == entry_source::own_reply)
        last_reply_ = std::max(last_reply_.value_or(id), id);
    std::vector<std::string> out;
    if (const auto it = awaited_.find(id); it != awaited_.end()) {
        out = std::move(it->second.sids);
        awaited_count_ -= out.size();
        awaited_.erase(it);
    }
    return out;
}

void admission_window::record(entry_id id, std::vector<std::string> rooms, std::vector<std::string> except,
                              protocol::encoded_packet packet) {
    if (pending_.empty())
        return;
    std::size_t bytes = packet.text ? packet.text->size() : 0;
    for (const auto& a : packet.attachments)
        bytes += a ? a->size() : 0;
    for (const auto& r : rooms)
        bytes += r.size();
    for (const auto& r : except)
        bytes += r.size();
    if (recorded_.size() + 1 > max_entries_ || recorded_bytes_ + bytes > max_bytes_) {
        // Every pending restore would need what cannot be kept: they fail at admission.
        for (auto& [token, r] : pending_)
            r.overflowed = true;
        recorded_.clear();
        recorded_bytes_ = 0;
        return;
    }
    recorded_bytes_ += bytes;
    recorded_.push_back({next_record_++, id, std::move(rooms), std::move(except), std::move(packet), bytes});
}

bool admission_window::admit(std::uint64_t token, const std::string& sid,
                             const std::vector<std::string>& session_rooms,
                             std::vector<protocol::encoded_packet>& missed, clock::time_point now) {
    const auto it = pending_.find(token);
    if (it == pending_.end() || !it->second.read || it->second.overflowed ||
        now - it->second.started > max_wait_ || it->second.replayed.size() != missed.size()) {
        if (it != pending_.end())
            pending_.erase(it);
        prune();
        return false;
    }
    const restore r = std::move(it->second);
    pending_.erase(it);
    // Everything the restore read stays; what this server did not deliver yet leaves the socket out when it
    // arrives (delivered live instead, it could come after a later entry of the replay).
    std::vector<std::pair<entry_id, protocol::encoded_packet>> out;
    out.reserve(missed.size());
    std::vector<entry_id> not_yet;
    for (std::size_t i = 0; i < missed.size(); ++i) {
        const auto& [id, source] = r.replayed[i];
        bool delivered = true;
        if (source == entry_source::reader)
            delivered = !r.reader_floor || id <= *r.reader_floor || (last_reader_ && id <= *last_reader_);
        else if (source == entry_source::own_reply)
            delivered = last_reply_ && id <= *last_reply_;
        if (!delivered)
            not_yet.push_back(id);
        out.emplace_back(id, std::move(missed[i]));
    }
    if (awaited_count_ + not_yet.size() > max_entries_) {
        prune();
        return false;
    }
    // What was delivered after the read, before now.
    for (const auto& e : recorded_) {
        if (e.number < r.first_record || e.id <= r.until)
            continue;
        auto has = [](const std::vector<std::string>& v, const std::string& x) {
            return std::find(v.begin(), v.end(), x) != v.end();
        };
        const bool included = e.rooms.empty() || std::any_of(session_rooms.begin(), session_rooms.end(),
                                                             [&](const auto& x) { return has(e.rooms, x); });
        const bool excluded = std::any_of(session_rooms.begin(), session_rooms.end(),
                                          [&](const auto& x) { return has(e.except, x); });
        if (included && !excluded)
            out.emplace_back(e.id, e.packet);
    }
    // In stream-id order, each entry once: the client's offset only moves forwards.
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    out.erase(
        std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
        out.end());
    for (const auto& id : not_yet) {
        auto& a = awaited_[id];
        if (a.sids.empty())
            a.admitted = now;
        a.sids.push_back(sid);
        ++awaited_count_;
    }
    last_admitted_ = sid;
    last_awaited_ = std::move(not_yet);
    missed.clear();
    for (auto& [id, packet] : out)
        missed.push_back(std::move(packet));
    prune();
    return true;
}

void admission_window::unadmit(const std::string& sid) {
    if (sid != last_admitted_)
        return;
    for (const auto& id : last_awaited_) {
        const auto a = awaited_.find(id);
        if (a == awaited_.end())
            continue;
        // That admit pushed it last (an earlier admit of the same id keeps its own).
        const auto it = std::find(a->second.sids.rbegin(), a->second.sids.rend(), sid);
        if (it == a->second.sids.rend())
            continue;
        a->second.sids.erase(std::next(it).base());
        --awaited_count_;
        if (a->second.sids.empty())
            awaited_.erase(a);
    }
    last_admitted_.clear();
    last_awaited_.clear();
}

void admission_window::expire(clock::time_point now) {
    std::erase_if(pending_, [&](const auto& p) { return now - p.second.started > max_wait_; });
    // An entry that never arrives here (its XADD's reply lost, skipped by the reader) is awaited no longer.
    for (auto a = awaited_.begin(); a != awaited_.end();) {
        if (now - a->second.admitted > max_wait_) {
            awaited_count_ -= a->second.sids.size();
            a = awaited_.erase(a);
        } else
            ++a;
    }
    prune();
}

void admission_window::prune() {
    if (pending_.empty()) {
        recorded_.clear();
        recorded_bytes_ = 0;
        return;
    }
    std::uint64_t first = UINT64_MAX;
    for (const auto& [token, r] : pending_)
        first = std::min(first, r.first_record);
    const auto keep = std::find_if(recorded_.begin(), recorded_.end(),
                                   [first](const recorded_entry& e) { return e.number >= first; });
    for (auto e = recorded_.begin(); e != keep; ++e)
        recorded_bytes_ -= e->bytes;
    recorded_.erase(recorded_.begin(), keep);
}

} // namespace sio::streams_detail
