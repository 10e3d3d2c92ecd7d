// The Redis streams adapter at its bounds: batches and entries larger than the reply cap, a reader that
// throws, restores beyond their caps, and the admission of a recovered socket while entries keep arriving
// (the sans-io admission window alone, then on a real redis-server started by the test).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

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
        w.delivered(id(10), entry_source::reader);
        w.delivered(id(11), entry_source::own_reply);
        w.begin("pid", id(10), now);
        BOOST_TEST(w.recording());
        w.read("pid", id(16), read);
        w.delivered(id(12), entry_source::reader);
        w.record(id(12), {}, {}, text_packet("12 (read by the restore)"));
        for (std::uint64_t own : {13, 19, 20}) {
            w.delivered(id(own), entry_source::own_reply);
            w.record(id(own), {own == 20 ? "elsewhere" : "room"}, {}, text_packet(std::to_string(own)));
        }
        auto missed = replay();
        BOOST_REQUIRE(w.admit("pid", {"sid", "room"}, missed, now));
        // 14 arrives live; 19 is added; 20 is for another room.
        BOOST_TEST(texts(missed) == (std::vector<std::string>{"10", "11", "12", "13", "15", "19"}),
                   boost::test_tools::per_element());
        BOOST_TEST(!w.recording());
        BOOST_TEST(w.recorded() == 0u);
    }
    {
        // The reader went past what the restore read: 14, then 18 (excluding the socket) and 17, in order.
        admission_window w(100, 1 << 20, std::chrono::seconds(60));
        w.begin("pid", id(9), now);
        w.read("pid", id(16), read);
        for (std::uint64_t n : {12, 13, 14, 17, 18}) {
            const auto source = n == 13 ? entry_source::own_reply : entry_source::reader;
            w.delivered(id(n), source);
            w.record(id(n), {}, n == 18 ? std::vector<std::string>{"sid"} : std::vector<std::string>{},
                     text_packet(std::to_string(n)));
        }
        auto missed = replay();
        BOOST_REQUIRE(w.admit("pid", {"sid", "room"}, missed, now));
        BOOST_TEST(texts(missed) == (std::vector<std::string>{"10", "11", "12", "13", "14", "15", "17"}),
                   boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(what_is_not_delivered_yet_leaves_the_replay) {
    admission_window w(100, 1 << 20, std::chrono::seconds(60));
    const auto now = admission_window::clock::now();
    w.begin("pid", id(5), now);
    w.read("pid", id(9), {{id(6), entry_source::reader}, {id(7), entry_source::own_reply}});
    std::vector<sio::protocol::encoded_packet> missed{text_packet("6"), text_packet("7")};
    BOOST_REQUIRE(w.admit("pid", {"sid"}, missed, now));
    BOOST_TEST(missed.empty()); // both arrive live once the socket is in its rooms
}

BOOST_AUTO_TEST_CASE(an_unknown_expired_or_overflowed_restore_is_not_admitted) {
    const auto now = admission_window::clock::now();
    std::vector<sio::protocol::encoded_packet> missed;
    admission_window w(2, 1 << 20, std::chrono::seconds(1));
    BOOST_TEST(!w.admit("nobody", {}, missed, now));
    w.begin("late", id(1), now);
    w.read("late", id(1), {});
    BOOST_TEST(!w.admit("late", {}, missed, now + std::chrono::seconds(2)));
    w.begin("full", id(1), now);
    w.read("full", id(1), {});
    for (std::uint64_t i = 2; i < 5; ++i) {
        w.delivered(id(i), entry_source::reader);
        w.record(id(i), {}, {}, text_packet("x"));
    }
    BOOST_TEST(!w.admit("full", {}, missed, now));
    w.begin("gone", id(1), now);
    w.abandon("gone");
    BOOST_TEST(!w.recording());
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

    explicit one_server(const std::function<void(sio::redis_streams_options&)>& tweak) {
        BOOST_REQUIRE(redis.start());
        raw.emplace(redis.port());
        server.emplace(streams_server_options(redis.port(), false, tweak));
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
    s.raw->run({"EXEC"});
    for (int i = 0; i < 13; ++i)
        BOOST_TEST(event_and_number(s.a->read(10s)) == "small " + std::to_string(i));
    BOOST_TEST(warnings.count("is larger than max_reply_bytes (skipped)") == 1u);
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

BOOST_AUTO_TEST_SUITE_END()

// --- retention ------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(retain_for_recovery_trims_by_the_recovery_duration) {
    redis_server redis;
    BOOST_REQUIRE(redis.start());
    raw_redis raw(redis.port());
    for (const bool retain : {false, true}) {
        const std::string stream = retain ? "retained" : "by-length";
        sio_server server(streams_server_options(redis.port(), true, [&](sio::redis_streams_options& o) {
            o.stream_name = stream;
            o.max_len = 1; // `~`: Redis trims whole nodes of 100 entries
            o.retain_for_recovery = retain;
        }));
        server.start();
        BOOST_REQUIRE(!streams_cluster::on(server, server.io().adapter_ready()));
        for (int i = 0; i < 300; ++i)
            server.io().emit("e", i);
        server.io().emit("last");
        for (const auto deadline = clock_type::now() + 20s; clock_type::now() < deadline;) {
            const auto events = raw.broadcast_events(stream);
            if (!events.empty() && events.back() == "last")
                break;
        }
        const auto len = raw.run({"XLEN", stream}).integer;
        if (retain)
            BOOST_TEST(len == 301); // younger than max_disconnection_duration (2 minutes)
        else
            BOOST_TEST(len < 301);
    }
}
