// The Redis streams adapter at its bounds: batches and entries larger than the reply cap, a reader that
// throws, restores beyond their caps, and the admission of a recovered socket while entries keep arriving
// (the sans-io admission window alone, then on a real redis-server started by the test).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <future>

#include "adapter/redis/streams_link.hpp"
#include "adapter/redis/streams_recovery.hpp"
#include "adapter/redis_streams_support.hpp"

using namespace streams_test;
using sd::admission_window;
using sd::entry_id;
using sd::entry_source;

namespace {

sio::protocol::encoded_packet text_packet(std::string text) {
    return {std::make_shared<const std::string>(std::move(text)), {}};
}

std::vector<std::string> texts(const std::vector<sio::protocol::encoded_packet>& v) {
    std::vector<std::string> out;
    for (const auto& p : v)
        out.push_back(*p.text);
    return out;
}

entry_id id(std::uint64_t ms, std::uint64_t seq = 0) {
    return {ms, seq};
}

} // namespace

BOOST_AUTO_TEST_SUITE(admission)

BOOST_AUTO_TEST_CASE(entry_ids_parse_and_order_as_redis_orders_them) {
    BOOST_TEST((*entry_id::parse("1700000000000-12") == id(1700000000000, 12)));
    BOOST_TEST((id(5, 10) > id(5, 9)));
    BOOST_TEST((id(6, 0) > id(5, 99)));
    for (const char* bad : {"", "5", "-1", "5-", "a-1", "1-2-3", "99999999999999999999-0"})
        BOOST_TEST(!entry_id::parse(bad), bad);
}

BOOST_AUTO_TEST_CASE(each_entry_reaches_the_socket_once) {
    const auto now = admission_window::clock::now();
    const std::vector<std::pair<entry_id, entry_source>> read{
        {id(10), entry_source::reader}, {id(11), entry_source::own_reply},
        {id(12), entry_source::reader}, {id(13), entry_source::own_reply},
        {id(14), entry_source::reader}, {id(15), entry_source::own_earlier}};
    auto replay = [] {
        std::vector<sio::protocol::encoded_packet> missed;
        for (const char* t : {"10", "11", "12", "13", "14", "15"})
            missed.push_back(text_packet(t));
        return missed;
    };
    {
        // The restore read up to 16: other servers' 10, 12, 14, this server's 11 and 13 (delivered when
        // their XADDs are answered) and its volatile 15 (delivered before its XADD). At admission the
        // reader has delivered 12 but not 14 yet, and this server's XADDs are answered up to 20.
        admission_window w(100, 1 << 20, std::chrono::seconds(60));
        BOOST_TEST(w.delivered(id(10), entry_source::reader).empty());
        w.delivered(id(11), entry_source::own_reply);
        const auto token = w.begin(id(10), now);
        BOOST_TEST(w.recording());
        w.read(token, id(16), read);
        w.delivered(id(12), entry_source::reader);
        w.record(id(12), {}, {}, text_packet("12 (read by the restore)"));
        for (std::uint64_t own : {13, 19, 20}) {
            w.delivered(id(own), entry_source::own_reply);
            w.record(id(own), {own == 20 ? "elsewhere" : "room"}, {}, text_packet(std::to_string(own)));
        }
        auto missed = replay();
        BOOST_REQUIRE(w.admit(token, "sid", {"sid", "room"}, missed, now));
        // 14 stays (in stream order) and leaves the socket out when the reader delivers it; 19 is added;
        // 20 is for another room.
        BOOST_TEST(texts(missed) == (std::vector<std::string>{"10", "11", "12", "13", "14", "15", "19"}),
                   boost::test_tools::per_element());
        BOOST_TEST(!w.recording());
        BOOST_TEST(w.recorded() == 0u);
        BOOST_TEST(w.awaited() == 1u);
        BOOST_TEST(w.delivered(id(14), entry_source::reader) == std::vector<std::string>{"sid"},
                   boost::test_tools::per_element());
        BOOST_TEST(w.awaited() == 0u);
        BOOST_TEST(w.delivered(id(21), entry_source::reader).empty());
    }
    {
        // The reader went past what the restore read: 14, then 18 (excluding the socket) and 17, in order.
        admission_window w(100, 1 << 20, std::chrono::seconds(60));
        const auto token = w.begin(id(9), now);
        w.read(token, id(16), read);
        for (std::uint64_t n : {12, 13, 14, 17, 18}) {
            const auto source = n == 13 ? entry_source::own_reply : entry_source::reader;
            w.delivered(id(n), source);
            w.record(id(n), {}, n == 18 ? std::vector<std::string>{"sid"} : std::vector<std::string>{},
                     text_packet(std::to_string(n)));
        }
        auto missed = replay();
        BOOST_REQUIRE(w.admit(token, "sid", {"sid", "room"}, missed, now));
        BOOST_TEST(texts(missed) == (std::vector<std::string>{"10", "11", "12", "13", "14", "15", "17"}),
                   boost::test_tools::per_element());
        BOOST_TEST(w.awaited() == 0u);
    }
}

BOOST_AUTO_TEST_CASE(what_is_not_delivered_yet_stays_and_leaves_the_socket_out_when_it_is) {
    admission_window w(100, 1 << 20, std::chrono::seconds(60));
    const auto now = admission_window::clock::now();
    const auto token = w.begin(id(5), now);
    w.read(token, id(9), {{id(6), entry_source::reader}, {id(7), entry_source::own_reply}});
    std::vector<sio::protocol::encoded_packet> missed{text_packet("6"), text_packet("7")};
    BOOST_REQUIRE(w.admit(token, "sid", {"sid"}, missed, now));
    BOOST_TEST(texts(missed) == (std::vector<std::string>{"6", "7"}), boost::test_tools::per_element());
    BOOST_TEST(w.delivered(id(6), entry_source::reader) == std::vector<std::string>{"sid"},
               boost::test_tools::per_element());
    BOOST_TEST(w.delivered(id(7), entry_source::own_reply) == std::vector<std::string>{"sid"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_replay_is_in_stream_order_and_the_offset_never_moves_backwards) {
    // Another server's 14 is read by the restore and not delivered here yet; this server's own 19 is
    // delivered after the read (its XADD answered). The client must get 14 before 19, once: in the replay,
    // with the socket left out of 14's live delivery (had 14 arrived live after the replay, the client's
    // offset would have gone from 19 back to 14).
    admission_window w(100, 1 << 20, std::chrono::seconds(60));
    const auto now = admission_window::clock::now();
    const auto token = w.begin(id(10), now);
    w.read(token, id(15),
           {{id(11), entry_source::reader},
            {id(14), entry_source::reader},
            {id(15), entry_source::own_earlier}});
    w.delivered(id(11), entry_source::reader);
    w.delivered(id(19), entry_source::own_reply);
    w.record(id(19), {}, {}, text_packet("19"));
    std::vector<sio::protocol::encoded_packet> missed{text_packet("11"), text_packet("14"),
                                                      text_packet("15")};
    BOOST_REQUIRE(w.admit(token, "sid", {"sid"}, missed, now));
    const auto got = texts(missed);
    BOOST_TEST(got == (std::vector<std::string>{"11", "14", "15", "19"}), boost::test_tools::per_element());
    BOOST_TEST(std::is_sorted(got.begin(), got.end(),
                              [](const auto& a, const auto& b) { return std::stoi(a) < std::stoi(b); }));
    // 14 arrives live now: the socket is left out, so its last offset stays 19.
    BOOST_TEST(w.delivered(id(14), entry_source::reader) == std::vector<std::string>{"sid"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_socket_not_added_after_its_admission_awaits_nothing) {
    // The replay of the second admission of "sid" was not written (the connection's queue refused it):
    // its entries are no longer awaited for it; the first admission's stay.
    admission_window w(100, 1 << 20, std::chrono::seconds(60));
    const auto now = admission_window::clock::now();
    const auto first = w.begin(id(5), now);
    w.read(first, id(6), {{id(6), entry_source::reader}});
    std::vector<sio::protocol::encoded_packet> missed{text_packet("6")};
    BOOST_REQUIRE(w.admit(first, "sid", {"sid"}, missed, now));
    const auto second = w.begin(id(5), now);
    w.read(second, id(7), {{id(6), entry_source::reader}, {id(7), entry_source::reader}});
    missed = {text_packet("6"), text_packet("7")};
    BOOST_REQUIRE(w.admit(second, "sid", {"sid"}, missed, now));
    BOOST_TEST(w.awaited() == 3u);
    w.unadmit("sid");
    BOOST_TEST(w.awaited() == 1u);
    BOOST_TEST(w.delivered(id(7), entry_source::reader).empty());
    BOOST_TEST(w.delivered(id(6), entry_source::reader) == std::vector<std::string>{"sid"},
               boost::test_tools::per_element());
    w.unadmit("sid"); // once only
    BOOST_TEST(w.awaited() == 0u);
}

BOOST_AUTO_TEST_CASE(overlapping_restores_of_one_pid_are_admitted_each_on_its_own) {
    // A client retrying: two restores of the same session overlap; each keeps its own window.
    admission_window w(100, 1 << 20, std::chrono::seconds(60));
    const auto now = admission_window::clock::now();
    const auto first = w.begin(id(5), now);
    w.delivered(id(6), entry_source::reader);
    w.record(id(6), {}, {}, text_packet("6"));
    const auto second = w.begin(id(6), now);
    BOOST_TEST(first != second);
    w.read(second, id(6), {});
    w.read(first, id(5), {});
    std::vector<sio::protocol::encoded_packet> a, b;
    BOOST_REQUIRE(w.admit(first, "sid1", {"sid1"}, a, now));
    BOOST_TEST(texts(a) == (std::vector<std::string>{"6"}), boost::test_tools::per_element());
    BOOST_REQUIRE(w.admit(second, "sid2", {"sid2"}, b, now));
    BOOST_TEST(b.empty());
    BOOST_TEST(w.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(an_unknown_expired_or_overflowed_restore_is_not_admitted) {
    const auto now = admission_window::clock::now();
    std::vector<sio::protocol::encoded_packet> missed;
    admission_window w(2, 1 << 20, std::chrono::seconds(1));
    BOOST_TEST(!w.admit(12345, "sid", {}, missed, now));
    const auto late = w.begin(id(1), now);
    w.read(late, id(1), {});
    BOOST_TEST(!w.admit(late, "sid", {}, missed, now + std::chrono::seconds(2)));
    const auto full = w.begin(id(1), now);
    w.read(full, id(1), {});
    for (std::uint64_t i = 2; i < 5; ++i) {
        w.delivered(id(i), entry_source::reader);
        w.record(id(i), {}, {}, text_packet("x"));
    }
    BOOST_TEST(!w.admit(full, "sid", {}, missed, now));
    const auto gone = w.begin(id(1), now);
    w.abandon(gone);
    BOOST_TEST(!w.recording());
}

BOOST_AUTO_TEST_CASE(a_restore_storm_uses_up_no_retry) {
    // Restores that failed because other restores were in the way (the connection in its back-off, or
    // aborted behind another's reply too large) try again; four failures of their own end them.
    namespace rd = sio::redis_detail;
    const auto now = sd::restore_retries::clock::now();
    sd::restore_retries r(4, std::chrono::seconds(10), now);
    for (int i = 0; i < 50; ++i) {
        BOOST_TEST(r.again(rd::errc::not_connected, now));
        BOOST_TEST(r.again(std::make_error_code(std::errc::connection_aborted), now));
    }
    for (int i = 0; i < 4; ++i)
        BOOST_TEST(r.again(rd::errc::command_timeout, now));
    BOOST_TEST(!r.again(rd::errc::command_timeout, now));
    // Beyond the contention limit, contention counts too.
    sd::restore_retries late(1, std::chrono::seconds(10), now);
    BOOST_TEST(late.again(rd::errc::not_connected, now + std::chrono::seconds(11)));
    BOOST_TEST(!late.again(rd::errc::not_connected, now + std::chrono::seconds(11)));
}

BOOST_AUTO_TEST_CASE(the_read_count_grows_only_after_full_replies_far_below_the_cap) {
    constexpr std::size_t cap = 1000;
    BOOST_TEST(sd::next_read_count(2, 100, 2, 100, cap) == 4u);    // full and small: twice as many
    BOOST_TEST(sd::next_read_count(2, 100, 1, 50, cap) == 2u);     // not full
    BOOST_TEST(sd::next_read_count(2, 100, 2, 600, cap) == 2u);    // full, but large: steady
    BOOST_TEST(sd::next_read_count(80, 100, 80, 10, cap) == 100u); // up to read_count
    BOOST_TEST(sd::next_read_count(0, 100, 0, 0, cap) == 1u);
    // Steady 300-byte entries under a 1000-byte cap: 4 did not fit (halved to 2), and 2 stay 2 instead of
    // bouncing back to 4 after every success.
    std::size_t count = 2;
    for (int i = 0; i < 10; ++i)
        count = sd::next_read_count(count, 100, count, count * 300, cap);
    BOOST_TEST(count == 2u);
}

BOOST_AUTO_TEST_CASE(an_entry_is_skipped_only_when_it_cannot_be_read) {
    // The one-entry XREAD reply of `socket.io`, id `1-0`, fields a=b.
    const std::string reply =
        "*1\r\n*2\r\n$9\r\nsocket.io\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n";
    const std::size_t fields_wire = 2 * std::string("$1\r\na\r\n").size(); // what the skip script computes
    BOOST_TEST(sd::entry_readable(9, 3, 2, fields_wire, reply.size(), 100));
    BOOST_TEST(!sd::entry_readable(9, 3, 2, fields_wire, reply.size() - 1, 100));
    BOOST_TEST(!sd::entry_readable(9, 3, 2, fields_wire, reply.size(), 7)); // elements: 1 + 2 + 1 + 2 + 2
    BOOST_TEST(sd::entry_readable(9, 3, 2, fields_wire, reply.size(), 8));
}

BOOST_AUTO_TEST_SUITE_END()

// --- on a real Redis ------------------------------------------------------------------------------------

namespace {

/// One server on its own Redis, a client on it.
struct one_server {
    redis_server redis;
    std::optional<raw_redis> raw;
    std::optional<sio_server> server;
    std::optional<sio_client> a;

    explicit one_server(const std::function<void(sio::redis_streams_options&)>& tweak,
                        bool recovery = false) {
        BOOST_REQUIRE(redis.start());
        raw.emplace(redis.port());
        server.emplace(streams_server_options(redis.port(), recovery, tweak));
        install(server->io().of("/"), server->log());
        server->start();
        BOOST_REQUIRE(!streams_cluster::on(*server, server->io().adapter_ready()));
        a.emplace(server->client());
        a->connect();
        BOOST_REQUIRE(server->log().wait("connect /"));
    }
    /// XADDs a broadcast entry of another writer, `[event, n, <pad bytes>]`.
    std::vector<std::string> entry(const std::string& event, int n, std::size_t pad) {
        const std::string data = R"({"packet":{"type":2,"data":[")" + event + "\"," + std::to_string(n) +
                                 ",\"" + std::string(pad, 'x') +
                                 R"("]},"opts":{"rooms":[],"except":[],"flags":{}}})";
        return {"XADD", "socket.io", "*", "uid", "raw-writer", "nsp", "/", "type", "3", "data", data};
    }
    /// XADDs `[event, n, ""]` to every socket of "/", as another writer.
    static void entry_of_another_writer(raw_redis& raw, const std::string& event, int n) {
        raw.run({"XADD", "socket.io", "*", "uid", "raw-writer", "nsp", "/", "type", "3", "data",
                 R"({"packet":{"type":2,"data":[")" + event + "\"," + std::to_string(n) +
                     R"(,""]},"opts":{"rooms":[],"except":[],"flags":{}}})"});
    }
};

/// The event name and first argument of an EVENT packet (`small 3`).
std::string event_and_number(const std::string& text) {
    BOOST_REQUIRE_MESSAGE(text.starts_with("42["), "expected an EVENT, got " << text.substr(0, 80));
    const auto a = boost::json::parse(text.substr(2)).as_array();
    return std::string(a.at(0).as_string()) + " " + boost::json::serialize(a.at(1));
}

} // namespace

BOOST_AUTO_TEST_CASE(a_batch_beyond_the_reply_cap_is_read_in_smaller_ones_and_a_huge_entry_skipped) {
    adapter_warnings warnings;
    one_server s([](sio::redis_streams_options& o) {
        o.max_reply_bytes = 8192;
        o.read_count = 100;
    });
    // In one transaction, so that the reader finds them all in one batch (about 17 KB).
    s.raw->run({"MULTI"});
    for (int i = 0; i < 10; ++i)
        s.raw->run(s.entry("small", i, 1500));
    s.raw->run(s.entry("huge", 0, 20000)); // alone beyond the cap: no reader can ever read it
    for (int i = 10; i < 13; ++i)
        s.raw->run(s.entry("small", i, 100));
    // A foreign writer's entry of thousands of tiny fields: too large too, and so would be one number per
    // field in the skip script's answer.
    std::vector<std::string> many{"XADD", "socket.io", "*", "uid", "raw-writer", "nsp", "/"};
    for (int i = 0; i < 3000; ++i) {
        many.push_back("f" + std::to_string(i));
        many.push_back("v");
    }
    s.raw->run(many);
    s.raw->run(s.entry("small", 13, 100));
    s.raw->run({"EXEC"});
    for (int i = 0; i < 14; ++i)
        BOOST_TEST(event_and_number(s.a->read(10s)) == "small " + std::to_string(i));
    BOOST_TEST(warnings.count("is larger than max_reply_bytes (skipped)") == 2u);
}

BOOST_AUTO_TEST_CASE(a_reader_that_throws_starts_again_after_the_entry) {
    adapter_warnings errors(sio::log_level::error);
    one_server s([](sio::redis_streams_options&) {});
    static std::atomic<int> thrown{0};
    sd::test_hooks.before_entry = [](const std::string&) {
        if (thrown++ == 0)
            throw std::runtime_error("injected");
    };
    s.raw->run(s.entry("boom", 0, 1));
    s.raw->run(s.entry("after", 1, 1));
    BOOST_TEST(event_and_number(s.a->read(10s)) == "after 1"); // the one it failed on is not handed over
    sd::test_hooks.before_entry = nullptr;
    BOOST_TEST(errors.count("failed (injected)") == 1u);
}

// --- connection state recovery ------------------------------------------------------------------------

namespace {

/// A client of `server` that drops after it saw one broadcast's offset (its session saved in Redis).
struct dropped_client {
    answer first;
    std::string offset;
};

dropped_client drop_one(sio_server& server, sio_server& other, raw_redis& raw) {
    auto x = server.client();
    x.send("40");
    dropped_client d;
    d.first = connect_answer(x.read());
    other.io().to(d.first.sid).emit("seen");
    d.offset = last_argument(x.read());
    x.close();
    auto stored = raw.run({"EXISTS", "sio:session:" + d.first.pid});
    for (const auto deadline = clock_type::now() + 20s; stored.integer == 0 && clock_type::now() < deadline;)
        stored = raw.run({"EXISTS", "sio:session:" + d.first.pid});
    BOOST_REQUIRE(stored.integer == 1);
    return d;
}

/// Waits until the stream holds `n` entries or more.
void wait_length(raw_redis& raw, long long n) {
    for (const auto deadline = clock_type::now() + 20s;
         raw.run({"XLEN", "socket.io"}).integer < n && clock_type::now() < deadline;)
        ;
    BOOST_REQUIRE(raw.run({"XLEN", "socket.io"}).integer >= n);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(recovery, recovering_cluster)

BOOST_AUTO_TEST_CASE(a_restore_beyond_its_caps_gives_a_fresh_session) {
    adapter_warnings warnings;
    raw_redis raw(redis.port());
    for (const bool by_bytes : {false, true}) {
        sio_server capped(
            streams_server_options(redis.port(), true, [by_bytes](sio::redis_streams_options& o) {
                o.read_count = 7; // several chunks
                if (by_bytes)
                    o.max_restore_bytes = 4000;
                else
                    o.max_restore_entries = 20;
            }));
        capped.start();
        BOOST_REQUIRE(!on(capped, capped.io().adapter_ready()));
        const auto d = drop_one(*one, *two, raw);
        const auto before = raw.run({"XLEN", "socket.io"}).integer;
        for (int i = 0; i < 30; ++i)
            two->io().emit("missed", i, std::string(200, 'x'));
        wait_length(raw, before + 30);
        auto y = capped.client();
        y.send(R"(40{"pid":")" + d.first.pid + R"(","offset":")" + d.offset + R"("})");
        BOOST_TEST(connect_answer(y.read()).sid != d.first.sid);
    }
    BOOST_TEST(warnings.count("more entries than max_restore_entries") == 1u);
    BOOST_TEST(warnings.count("more bytes than max_restore_bytes") == 1u);
}

BOOST_AUTO_TEST_CASE(volatile_broadcasts_are_replayed_as_node_replays_them) {
    raw_redis raw(redis.port());
    const auto d = drop_one(*one, *two, raw);
    two->io().volatile_().emit("vol", 1);
    two->io().emit("kept", 2);
    for (const auto deadline = clock_type::now() + 20s; clock_type::now() < deadline;) {
        const auto e = raw.broadcast_events("socket.io");
        if (std::count(e.begin(), e.end(), "kept") + std::count(e.begin(), e.end(), "vol") == 2)
            break;
    }
    auto y = three->client();
    y.send(R"(40{"pid":")" + d.first.pid + R"(","offset":")" + d.offset + R"("})");
    // In stream order (the volatile one is written after its local delivery: maybe after the other).
    std::vector<std::string> got;
    for (int i = 0; i < 2; ++i) {
        const auto text = y.read();
        BOOST_TEST(sd::valid_offset(last_argument(text)));
        got.push_back(event_and_number(text));
    }
    BOOST_TEST(sorted(got) == sorted({"kept 2", "vol 1"}), boost::test_tools::per_element());
    BOOST_TEST(connect_answer(y.read()).sid == d.first.sid);
}

BOOST_AUTO_TEST_CASE(broadcasts_between_the_restore_and_the_admission_reach_the_socket_once) {
    raw_redis raw(redis.port());
    // Server four holds a recovered socket in a middleware (after the restore, before the admission) until
    // the test lets it go.
    auto with_middlewares = options(true);
    with_middlewares.connection_state_recovery->skip_middlewares = false;
    sio_server four(std::move(with_middlewares));
    install(four.io().of("/"), four.log());
    auto held = std::make_shared<std::promise<std::shared_ptr<boost::asio::steady_timer>>>();
    auto gate = held->get_future();
    four.io().of("/").use(
        [held](sio::socket s) -> boost::asio::awaitable<std::optional<sio::middleware_error>> {
            if (s.recovered()) {
                auto t = std::make_shared<boost::asio::steady_timer>(s.executor(), 20s);
                held->set_value(t);
                co_await t->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
            }
            co_return std::nullopt;
        });
    four.start();
    BOOST_REQUIRE(!on(four, four.io().adapter_ready()));
    const auto d = drop_one(*one, *two, raw);
    auto watcher = four.client(); // sees what server four delivers meanwhile
    watcher.connect();
    auto y = four.client();
    y.send(R"(40{"pid":")" + d.first.pid + R"(","offset":")" + d.offset + R"("})");
    BOOST_REQUIRE(gate.wait_for(10s) == std::future_status::ready);
    // Delivered by server four while the socket waits: another server's (through four's reader) and
    // four's own (on its XADD's reply).
    one->io().emit("between-remote", 1);
    four.io().emit("between-own", 2);
    std::vector<std::string> seen{event_and_number(watcher.read()), event_and_number(watcher.read())};
    BOOST_TEST(sorted(seen) == sorted({"between-own 2", "between-remote 1"}),
               boost::test_tools::per_element());
    const auto timer = gate.get();
    boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
    // Both in the replay, once each, before the CONNECT answer; live ones after.
    std::vector<std::string> replayed;
    for (std::string text = y.read(); !text.starts_with("40"); text = y.read()) {
        BOOST_TEST(sd::valid_offset(last_argument(text)));
        replayed.push_back(event_and_number(text));
    }
    BOOST_TEST(sorted(replayed) == sorted({"between-own 2", "between-remote 1"}),
               boost::test_tools::per_element());
    two->io().emit("live", 3);
    BOOST_TEST(event_and_number(y.read()) == "live 3");
}

BOOST_AUTO_TEST_CASE(application_handlers_run_without_the_admission_lock) {
    // A room handler on server four (run when server one's socketsJoin reaches four through its reader)
    // waits until a recovered socket is admitted on four. Were the handler run under the admission lock,
    // the admission would wait for the handler (a deadlock with any application lock in between).
    raw_redis raw(redis.port());
    sio_server four(options(true));
    install(four.io().of("/"), four.log());
    four.start(3); // the handler blocks one thread
    BOOST_REQUIRE(!on(four, four.io().adapter_ready()));
    auto member = four.client();
    const auto member_id = member.connect();
    const auto d = drop_one(*one, *three, raw);
    auto entered = std::make_shared<std::promise<void>>();
    auto release = std::make_shared<std::promise<void>>();
    auto released = release->get_future().share();
    auto once = std::make_shared<std::atomic<bool>>(false);
    four.io().of("/").adapter().on_join_room([=](const std::string& room, const std::string&) {
        if (room != "gate" || once->exchange(true))
            return;
        entered->set_value();
        released.wait_for(5s);
    });
    BOOST_TEST(!on_one(one->io().in(member_id).sockets_join("gate")));
    BOOST_REQUIRE(entered->get_future().wait_for(10s) == std::future_status::ready);
    auto y = four.client();
    y.send(R"(40{"pid":")" + d.first.pid + R"(","offset":")" + d.offset + R"("})");
    std::string text;
    try {
        text = y.read(2s); // while the handler still runs
    } catch (const std::exception& e) {
        BOOST_ERROR("the recovered socket was not admitted while a room handler ran: " << e.what());
    }
    release->set_value();
    BOOST_TEST(connect_answer(text).sid == d.first.sid);
}

BOOST_AUTO_TEST_SUITE_END()

// --- a server of its own: its stream reader held back, Redis paused ---------------------------------------

namespace {

/// Holds every stream reader of the process before it hands over an entry after `after` (until opened).
struct reader_gate {
    static inline std::mutex mutex;
    static inline std::condition_variable changed;
    static inline std::optional<entry_id> after;
    static inline bool held = false, open = false;

    explicit reader_gate(entry_id from) {
        std::lock_guard lock(mutex);
        after = from;
        held = open = false;
        sd::test_hooks.before_entry = &hook;
    }
    ~reader_gate() {
        release();
        sd::test_hooks.before_entry = nullptr;
    }
    static void hook(const std::string& id) {
        std::unique_lock lock(mutex);
        const auto e = entry_id::parse(id);
        if (!after || !e || *e <= *after || open)
            return;
        held = true;
        changed.notify_all();
        changed.wait_for(lock, 10s, [] { return open; });
    }
    bool wait_held() {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 10s, [] { return held; });
    }
    void release() {
        std::lock_guard lock(mutex);
        open = true;
        changed.notify_all();
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(an_entry_replayed_to_a_socket_leaves_out_that_socket_only) {
    // A recovered socket got an entry in its replay before this server's reader delivered it: the live
    // delivery leaves that socket out, and not the other members of a room named after its id.
    redis_server redis;
    BOOST_REQUIRE(redis.start());
    raw_redis raw(redis.port());
    sio_server srv(streams_server_options(redis.port(), true));
    install(srv.io().of("/"), srv.log());
    srv.start(3); // the held reader blocks one thread
    BOOST_REQUIRE(!streams_cluster::on(srv, srv.io().adapter_ready()));
    const auto d = drop_one(srv, srv, raw);
    auto member = srv.client();
    const auto member_id = member.connect();
    BOOST_REQUIRE(!streams_cluster::on(srv, srv.io().in(member_id).sockets_join(d.first.sid)));
    const auto last = raw.run({"XREVRANGE", "socket.io", "+", "-", "COUNT", "1"});
    BOOST_REQUIRE(!last.elements.empty());
    reader_gate gate(*entry_id::parse(last.elements[0].elements[0].str));
    one_server::entry_of_another_writer(raw, "held", 1);
    BOOST_REQUIRE(gate.wait_held());
    auto y = srv.client();
    y.send(R"(40{"pid":")" + d.first.pid + R"(","offset":")" + d.offset + R"("})");
    BOOST_TEST(event_and_number(y.read()) == "held 1");
    BOOST_TEST(connect_answer(y.read()).sid == d.first.sid);
    gate.release();
    BOOST_TEST(event_and_number(member.read(5s)) == "held 1");
    srv.io().emit("after", 2);
    BOOST_TEST(event_and_number(y.read()) == "after 2"); // not "held 1" again
}

BOOST_AUTO_TEST_CASE(broadcasts_whose_xadd_is_refused_keep_their_order) {
    // With recovery, a kept broadcast reaches this server's sockets once its XADD is answered. One too large
    // for the command queue is refused at once: it waits for the answer of the one before it.
    adapter_warnings warnings;
    one_server s([](sio::redis_streams_options& o) { o.max_queued_bytes = 2048; }, true);
    ::kill(s.redis.pid(), SIGSTOP);
    s.server->io().emit("first", 1);
    s.server->io().emit("second", 2, std::string(4096, 'x'));
    // Without the order kept, the refused one is delivered at once, while Redis is stopped.
    bool early = false;
    for (const auto until = clock_type::now() + 300ms; !early && clock_type::now() < until;
         std::this_thread::yield())
        early = warnings.count("did not reach Redis") > 0;
    ::kill(s.redis.pid(), SIGCONT);
    BOOST_TEST(!early);
    BOOST_TEST(event_and_number(s.a->read(10s)) == "first 1");
    BOOST_TEST(event_and_number(s.a->read(10s)) == "second 2");
}

// --- retention ------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(retain_for_recovery_trims_by_the_recovery_duration) {
    redis_server redis;
    BOOST_REQUIRE(redis.start());
    raw_redis raw(redis.port());
    small_stream_nodes(raw);
    // Not retained; retained for the default 2 minutes; retained for 200 ms.
    for (const auto retained : {0ms, 120000ms, 200ms}) {
        const std::string stream = "retained-" + std::to_string(retained.count());
        auto o = streams_server_options(redis.port(), true, [&](sio::redis_streams_options& r) {
            r.stream_name = stream;
            r.max_len = 1;
            r.retain_for_recovery = retained != 0ms;
        });
        if (retained != 0ms)
            o.connection_state_recovery->max_disconnection_duration = retained;
        sio_server server(std::move(o));
        server.start();
        BOOST_REQUIRE(!streams_cluster::on(server, server.io().adapter_ready()));
        const auto len = broadcast_51(raw, server, stream);
        if (retained == 0ms)
            BOOST_TEST(len <= 10); // MAXLEN ~ 1: the newest node is left
        else if (retained == 120s)
            BOOST_TEST(len == 51); // younger than max_disconnection_duration: none goes
        else                       // older than it once the clock passed: the next entry's MINID trims them
            BOOST_TEST(length_once_aged(raw, server, stream, retained) <= 11);
    }
}
