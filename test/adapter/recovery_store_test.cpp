// Connection state recovery's replay buffer and saved sessions (recovery_store), driven with plain time
// points: offsets and the packets kept, what a restore replays (rooms, except, offsets, the socket's start),
// the bounds, expiry and its queue, hostile pids and offsets, and the admission step that completes a
// restore. The Socket.IO-level behaviour is in test/socketio/recovery_test.cpp.
#include <sio/sio.hpp>

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "adapter/recovery_store.hpp"

namespace json = boost::json;
using sio::detail::recovery_store;
using namespace std::chrono_literals;
namespace {

// --- the store ---------------------------------------------------------------------------------------

sio::protocol::packet event_packet(std::string_view name, int arg) {
    sio::protocol::packet p;
    p.type = sio::protocol::packet_type::event;
    p.nsp = "/";
    p.data = json::array{json::string(name), arg};
    return p;
}

sio::broadcast_flags to_rooms(std::vector<std::string> rooms, std::vector<std::string> except = {}) {
    sio::broadcast_flags f;
    f.rooms = std::move(rooms);
    f.except = std::move(except);
    return f;
}

const std::string pid_a = "AAAAAAAAAAAAAAAAAAAA";
const std::string pid_b = "BBBBBBBBBBBBBBBBBBBB";

sio::recovery_session session(const std::string& pid, std::vector<std::string> rooms) {
    return sio::recovery_session{"sid-of-" + pid, pid, std::move(rooms), json::object{{"k", 1}}};
}

std::vector<std::string> texts(const sio::restored_session& r) {
    std::vector<std::string> out;
    for (const auto& p : r.missed)
        out.push_back(*p.text);
    return out;
}

using tp = recovery_store::clock::time_point;
const tp t0 = tp{} + 1h;

} // namespace

BOOST_AUTO_TEST_SUITE(store)

BOOST_AUTO_TEST_CASE(offsets_are_appended_and_only_plain_events_are_kept) {
    auto p = event_packet("a", 1);
    BOOST_TEST(recovery_store::keeps(p, {}));
    sio::broadcast_flags vol;
    vol.volatile_ = true;
    BOOST_TEST(!recovery_store::keeps(p, vol));
    auto with_ack = p;
    with_ack.id = 3;
    BOOST_TEST(!recovery_store::keeps(with_ack, {}));
    auto connect = p;
    connect.type = sio::protocol::packet_type::connect;
    BOOST_TEST(!recovery_store::keeps(connect, {}));

    recovery_store store({});
    const auto e1 = store.store(p, {}, t0);
    BOOST_TEST(*e1.text == R"(2["a",1,"1"])");
    auto q = event_packet("b", 2);
    BOOST_TEST(*store.store(q, {}, t0).text == R"(2["b",2,"2"])");
    BOOST_TEST(store.packet_count() == 2u);
}

BOOST_AUTO_TEST_CASE(restore_replays_what_the_rooms_select_after_the_offset) {
    recovery_store store({});
    auto first = event_packet("before", 0);
    store.store(first, {}, t0);                                      // offset 1: the client has it
    store.persist(session(pid_a, {"sid-of-" + pid_a, "r1"}), 1, t0); // joined at sequence 1
    auto all = event_packet("all", 1);
    store.store(all, {}, t0);
    auto r1 = event_packet("r1", 2);
    store.store(r1, to_rooms({"r1"}), t0);
    auto r2 = event_packet("r2", 3);
    store.store(r2, to_rooms({"r2"}), t0);
    auto ex = event_packet("except-r1", 4);
    store.store(ex, to_rooms({}, {"r1"}), t0);
    auto direct = event_packet("direct", 5);
    store.store(direct, to_rooms({"sid-of-" + pid_a}), t0);

    recovery_store::failure why{};
    auto r = store.restore(pid_a, std::string("1"), t0 + 1s, &why);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->session.sid == "sid-of-" + pid_a);
    BOOST_TEST(json::serialize(r->session.data) == R"({"k":1})");
    const std::vector<std::string> expected{R"(2["all",1,"2"])", R"(2["r1",2,"3"])", R"(2["direct",5,"6"])"};
    BOOST_TEST(texts(*r) == expected, boost::test_tools::per_element());
    // Not consumed by the restore: only its admission consumes it.
    BOOST_TEST(store.restore(pid_a, std::string("1"), t0 + 1s).has_value());
    BOOST_TEST(store.admit(*r, t0 + 1s));
    BOOST_TEST(!store.restore(pid_a, std::string("1"), t0 + 1s, &why));
    BOOST_TEST(static_cast<int>(why) == static_cast<int>(recovery_store::failure::unknown_pid));
}

BOOST_AUTO_TEST_CASE(admission_adds_what_was_kept_since_the_restore) {
    recovery_store store({});
    store.persist(session(pid_a, {"r1"}), 1, t0);
    auto before = event_packet("before", 1);
    store.store(before, to_rooms({"r1"}), t0);
    auto r = store.restore(pid_a, std::nullopt, t0);
    BOOST_REQUIRE(r.has_value());
    // Kept while the middlewares ran: one for its room, one not.
    auto during = event_packet("during", 2);
    store.store(during, to_rooms({"r1"}), t0);
    auto other = event_packet("other", 3);
    store.store(other, to_rooms({"r2"}), t0);
    BOOST_TEST(store.admit(*r, t0));
    const std::vector<std::string> expected{R"(2["before",1,"1"])", R"(2["during",2,"2"])"};
    BOOST_TEST(texts(*r) == expected, boost::test_tools::per_element());
    BOOST_TEST(store.session_count() == 0u);
    BOOST_TEST(!store.admit(*r, t0)); // once

    // Saved again since the restore (the socket recovered elsewhere and dropped again): not admitted.
    store.persist(session(pid_b, {"r1"}), store.next_sequence(), t0);
    auto old = store.restore(pid_b, std::nullopt, t0);
    BOOST_REQUIRE(old.has_value());
    store.persist(session(pid_b, {"r2"}), store.next_sequence(), t0);
    BOOST_TEST(!store.admit(*old, t0));
    BOOST_TEST(store.session_count() == 1u);
    // Expired since the restore: not admitted (the expiry sweep reports it).
    auto late = store.restore(pid_b, std::nullopt, t0);
    BOOST_REQUIRE(late.has_value());
    BOOST_TEST(!store.admit(*late, t0 + 2min));
    BOOST_TEST(store.expire(t0 + 2min).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_packet_dropped_between_restore_and_admission_fails_the_admission) {
    sio::connection_state_recovery_options o;
    o.max_buffered_packets = 2;
    recovery_store store(o);
    store.persist(session(pid_a, {"r1"}), 1, t0);
    auto r = store.restore(pid_a, std::nullopt, t0);
    BOOST_REQUIRE(r.has_value());
    for (int i = 0; i < 3; ++i) { // packet 1, kept since the restore, is dropped
        auto p = event_packet("p", i);
        store.store(p, {}, t0);
    }
    BOOST_TEST(!store.admit(*r, t0));
    BOOST_TEST(store.session_count() == 1u); // left for the sweep
}

BOOST_AUTO_TEST_CASE(the_expiry_queue_pops_its_stale_entries) {
    recovery_store store({});
    for (int i = 0; i < 100; ++i) // saved again and again: one live entry, 99 stale ones
        store.persist(session(pid_a, {"r1"}), 1, t0 + std::chrono::milliseconds(i));
    BOOST_TEST(store.expiry_entries() == 100u);
    BOOST_TEST((store.next_expiry() == t0 + 99ms + 2min));
    BOOST_TEST(store.expiry_entries() == 1u);
    auto r = store.restore(pid_a, std::nullopt, t0 + 1s);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(store.admit(*r, t0 + 1s));
    BOOST_TEST(!store.next_expiry().has_value());
    BOOST_TEST(store.expiry_entries() == 0u);
}

BOOST_AUTO_TEST_CASE(without_an_offset_the_packets_since_the_drop_are_replayed) {
    recovery_store store({});
    auto before = event_packet("before", 0);
    store.store(before, {}, t0);
    store.persist(session(pid_a, {"r1"}), 1, t0);
    auto after = event_packet("after", 1);
    store.store(after, {}, t0);
    auto r = store.restore(pid_a, std::nullopt, t0);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(texts(*r) == std::vector<std::string>{R"(2["after",1,"2"])"},
               boost::test_tools::per_element());

    sio::connection_state_recovery_options like_node;
    like_node.recover_without_offset = false;
    recovery_store strict(like_node);
    strict.persist(session(pid_a, {"r1"}), 1, t0);
    recovery_store::failure why{};
    BOOST_TEST(!strict.restore(pid_a, std::nullopt, t0, &why));
    BOOST_TEST(static_cast<int>(why) == static_cast<int>(recovery_store::failure::no_offset));
}

BOOST_AUTO_TEST_CASE(nothing_before_the_socket_joined_is_replayed) {
    recovery_store store({});
    for (int i = 0; i < 3; ++i) {
        auto p = event_packet("old", i);
        store.store(p, {}, t0);
    }
    store.persist(session(pid_a, {"r1"}), store.next_sequence(), t0); // joined after them
    auto p = event_packet("new", 9);
    store.store(p, {}, t0);
    auto r = store.restore(pid_a, std::string("1"), t0); // an offset from before it joined
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(texts(*r) == std::vector<std::string>{R"(2["new",9,"4"])"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_needed_packet_dropped_by_a_bound_fails_the_whole_recovery) {
    sio::connection_state_recovery_options o;
    o.max_buffered_packets = 3;
    recovery_store store(o);
    store.persist(session(pid_a, {"r1"}), 1, t0);
    store.persist(session(pid_b, {"r1"}), 1, t0);
    for (int i = 0; i < 5; ++i) {
        auto p = event_packet("p", i);
        store.store(p, {}, t0);
    }
    BOOST_TEST(store.packet_count() == 3u);
    recovery_store::failure why{};
    BOOST_TEST(!store.restore(pid_a, std::nullopt, t0, &why)); // it needs 1..5; 1 and 2 are gone
    BOOST_TEST(static_cast<int>(why) == static_cast<int>(recovery_store::failure::packets_dropped));
    // A client that already had packet 2 needs only what is still there.
    auto r = store.restore(pid_b, std::string("2"), t0);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->missed.size() == 3u);

    sio::connection_state_recovery_options bytes;
    bytes.max_buffered_bytes = 1000;
    recovery_store small(bytes);
    for (int i = 0; i < 100; ++i) {
        auto p = event_packet(std::string(100, 'x'), i);
        small.store(p, {}, t0);
    }
    BOOST_TEST(small.buffered_bytes() <= 1000u);
    BOOST_TEST(small.packet_count() >= 1u);
}

BOOST_AUTO_TEST_CASE(sessions_and_packets_expire_with_time) {
    sio::connection_state_recovery_options o;
    o.max_disconnection_duration = 10s;
    recovery_store store(o);
    store.persist(session(pid_a, {"r1"}), 1, t0);
    store.persist(session(pid_b, {"r1"}), 1, t0 + 5s);
    auto p = event_packet("p", 1);
    store.store(p, {}, t0 - 1ms);
    BOOST_TEST((store.next_expiry() == t0 + 10s));
    BOOST_TEST(store.expire(t0 + 9s).empty());
    const auto expired = store.expire(t0 + 10s);
    BOOST_REQUIRE(expired.size() == 1u);
    BOOST_TEST(expired.front().pid == pid_a);
    BOOST_TEST(expired.front().rooms == std::vector<std::string>{"r1"});
    BOOST_TEST(store.session_count() == 1u);
    BOOST_TEST(store.packet_count() == 0u); // older than the duration
    BOOST_TEST((store.next_expiry() == t0 + 15s));
    // Restoring after the deadline fails even before a sweep ran.
    recovery_store::failure why{};
    BOOST_TEST(!store.restore(pid_b, std::nullopt, t0 + 16s, &why));
    BOOST_TEST(static_cast<int>(why) == static_cast<int>(recovery_store::failure::unknown_pid));
    BOOST_TEST(store.expire(t0 + 16s).size() == 1u); // still reported by the sweep
    BOOST_TEST(!store.next_expiry().has_value());
}

BOOST_AUTO_TEST_CASE(hostile_pids_and_offsets_fail_without_consuming_anything) {
    recovery_store store({});
    store.persist(session(pid_a, {"r1"}), 1, t0);
    auto p = event_packet("p", 1);
    store.store(p, {}, t0);
    const auto fails = [&](std::string_view pid, std::optional<std::string> offset,
                           recovery_store::failure f) {
        recovery_store::failure why{};
        BOOST_TEST(!store.restore(pid, offset, t0, &why), pid << " / " << offset.value_or("(none)"));
        BOOST_TEST(static_cast<int>(why) == static_cast<int>(f), pid << " / " << offset.value_or("(none)"));
    };
    using f = recovery_store::failure;
    fails("", std::nullopt, f::bad_pid);
    fails(std::string(1 << 20, 'A'), std::nullopt, f::bad_pid);
    fails("AAAAAAAAAAAAAAAAAAA\"", std::nullopt, f::bad_pid);
    fails("CCCCCCCCCCCCCCCCCCCC", std::nullopt, f::unknown_pid);
    fails("sid-of-" + pid_a, std::nullopt, f::bad_pid);
    fails(pid_a, std::string("2"), f::bad_offset);                    // from the future
    fails(pid_a, std::string("18446744073709551615"), f::bad_offset); // far in the future
    fails(pid_a, std::string("99999999999999999999999"), f::bad_offset);
    fails(pid_a, std::string("-1"), f::bad_offset);
    fails(pid_a, std::string("0"), f::bad_offset);
    fails(pid_a, std::string("01"), f::bad_offset);
    fails(pid_a, std::string("1.5"), f::bad_offset);
    fails(pid_a, std::string(1 << 16, '1'), f::bad_offset);
    fails(pid_a, std::string(), f::bad_offset);
    BOOST_TEST(store.session_count() == 1u);
    BOOST_TEST(store.restore(pid_a, std::string("1"), t0).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
