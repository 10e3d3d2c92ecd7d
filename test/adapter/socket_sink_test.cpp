// The seam between an adapter and the sockets it delivers to: the memory adapter driven against fake
// socket sinks, without a server or a network. A broadcast must reach exactly the sinks its rooms and
// exceptions select, encoded once for all of them, with the outgoing listeners told; a broadcast with
// acknowledgements starts one ack per recipient and collects the answers.
#include <sio/adapter/memory.hpp>
#include <sio/error.hpp>
#include <sio/socket_sink.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct fake_host : sio::adapter_host {
    explicit fake_host(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
    const std::string& name() const noexcept override { return name_; }
    boost::asio::any_io_executor executor() const override { return ex_; }
    std::shared_ptr<const void> anchor() const override { return {}; }
    void deliver_server_side(std::string, sio::arguments, std::function<void(sio::arguments)>) override {}

    std::string name_ = "/chat";
    boost::asio::any_io_executor ex_;
};

/// Records what the adapter does with it.
struct fake_sink : sio::socket_sink {
    fake_sink(std::string id, boost::asio::any_io_executor ex) : id_(std::move(id)), ex_(std::move(ex)) {}

    const std::string& id() const noexcept override { return id_; }
    bool connected() const noexcept override { return connected_; }
    boost::asio::any_io_executor executor() const noexcept override { return ex_; }
    sio::socket handle() const override { return {}; }
    bool send_encoded(const sio::protocol::encoded_packet& packet, bool volatile_, bool compress) override {
        if (const auto* st = ex_.target<boost::asio::strand<boost::asio::any_io_executor>>())
            sent_on_own_strand = sent_on_own_strand || st->running_in_this_thread();
        sent.push_back(packet);
        last_volatile = volatile_;
        last_compress = compress;
        return connected_;
    }
    void start_ack(sio::protocol::packet packet, std::optional<std::chrono::milliseconds> timeout, bool,
                   std::function<void(sio::ack_result)> done) override {
        acks.push_back({std::move(packet), timeout, std::move(done)});
    }
    bool has_outgoing_listeners() const noexcept override { return listens_; }
    void notify_outgoing(std::shared_ptr<const sio::outgoing_event> event) override {
        outgoing.push_back(std::move(event));
    }

    struct started_ack {
        sio::protocol::packet packet;
        std::optional<std::chrono::milliseconds> timeout;
        std::function<void(sio::ack_result)> done;
    };
    std::string id_;
    boost::asio::any_io_executor ex_;
    bool connected_ = true;
    bool listens_ = false;
    std::vector<sio::protocol::encoded_packet> sent;
    bool last_volatile = false;
    bool last_compress = false;
    bool sent_on_own_strand = false;
    std::vector<started_ack> acks;
    std::vector<std::shared_ptr<const sio::outgoing_event>> outgoing;
};

/// The memory adapter with its room table opened to the test.
struct sink_adapter : sio::memory_adapter {
    using memory_adapter::add_sink;
    using memory_adapter::join_rooms;
    using memory_adapter::leave_room;
    using memory_adapter::local_sinks;
    using memory_adapter::memory_adapter;
};

sio::protocol::packet event_packet(std::string name, int arg) {
    sio::protocol::packet p;
    p.type = sio::protocol::packet_type::event;
    p.data = boost::json::array{boost::json::value(name), arg};
    return p;
}

struct fixture {
    boost::asio::io_context ctx;
    fake_host host{ctx.get_executor()};
    sink_adapter adapter{host};

    std::shared_ptr<fake_sink> add(std::string id, std::vector<std::string> rooms) {
        auto s = std::make_shared<fake_sink>(std::move(id), ctx.get_executor());
        adapter.add_sink(s);
        adapter.join_rooms(s->id(), rooms);
        return s;
    }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(broadcast_to_rooms_with_except_reaches_the_selected_sinks_encoded_once, fixture) {
    auto in_a = add("s1", {"a"});
    auto in_a_and_b = add("s2", {"a", "b"}); // reached through two rooms: once
    auto in_b_and_x = add("s3", {"b", "x"}); // excepted
    auto in_c = add("s4", {"c"});            // not selected
    auto gone = add("s5", {"a"});            // selected, disconnected: nothing sent, nobody told
    auto quiet = add("s6", {"b"});           // selected, no outgoing listener
    in_a->listens_ = in_a_and_b->listens_ = gone->listens_ = true;
    gone->connected_ = false;

    sio::broadcast_flags flags;
    flags.rooms = {"a", "b"};
    flags.except = {"x"};
    flags.volatile_ = true;
    flags.compress = false;
    adapter.broadcast(event_packet("m", 1), flags);

    for (const auto& s : {in_a, in_a_and_b, quiet}) {
        BOOST_TEST_CONTEXT(s->id()) {
            BOOST_TEST_REQUIRE(s->sent.size() == 1u);
            BOOST_TEST(*s->sent[0].text == R"(2/chat,["m",1])");
            BOOST_TEST(s->last_volatile);
            BOOST_TEST(!s->last_compress);
        }
    }
    for (const auto& s : {in_b_and_x, in_c, gone})
        BOOST_TEST_CONTEXT(s->id()) {
            BOOST_TEST(s->sent.empty());
        }

    // Encoded once: every recipient holds the same text.
    std::set<const std::string*> encodings;
    for (const auto& s : {in_a, in_a_and_b, quiet})
        encodings.insert(s->sent[0].text.get());
    BOOST_TEST(encodings.size() == 1u);

    // The outgoing listeners of the recipients are told, with one shared event.
    BOOST_TEST_REQUIRE(in_a->outgoing.size() == 1u);
    BOOST_TEST_REQUIRE(in_a_and_b->outgoing.size() == 1u);
    BOOST_TEST(in_a->outgoing[0] == in_a_and_b->outgoing[0]);
    BOOST_TEST(in_a->outgoing[0]->name == "m");
    BOOST_TEST(boost::json::serialize(in_a->outgoing[0]->args.values) == "[1]");
    BOOST_TEST(gone->outgoing.empty());
    BOOST_TEST(quiet->outgoing.empty());

    // The rooms changed: s2 left "a" and "b", s4 joined "b".
    adapter.leave_room("s2", "a");
    adapter.leave_room("s2", "b");
    adapter.join_rooms("s4", {"b"});
    adapter.broadcast(event_packet("n", 2), flags);
    BOOST_TEST(in_a->sent.size() == 2u);
    BOOST_TEST(in_a_and_b->sent.size() == 1u);
    BOOST_TEST(in_c->sent.size() == 1u);
    BOOST_TEST(in_b_and_x->sent.empty());
}

BOOST_FIXTURE_TEST_CASE(broadcast_with_ack_starts_one_ack_per_selected_sink_and_collects_the_answers,
                        fixture) {
    auto first = add("s1", {"a"});
    auto second = add("s2", {"a"});
    auto excepted = add("s3", {"a", "x"});
    second->listens_ = true;

    sio::broadcast_flags flags;
    flags.rooms = {"a"};
    flags.except = {"x"};
    flags.timeout = 5s;
    auto result = boost::asio::co_spawn(ctx, adapter.broadcast_with_ack(event_packet("q", 7), flags),
                                        boost::asio::use_future);
    ctx.poll(); // the coroutine starts the acks, then waits for the answers

    BOOST_TEST(excepted->acks.empty());
    for (const auto& s : {first, second}) {
        BOOST_TEST_CONTEXT(s->id()) {
            BOOST_TEST_REQUIRE(s->acks.size() == 1u);
            const auto& started = s->acks[0];
            BOOST_TEST(started.packet.nsp == "/chat");
            BOOST_TEST(boost::json::serialize(started.packet.data) == R"(["q",7])");
            BOOST_TEST((started.timeout == std::optional(std::chrono::milliseconds(5s))));
            BOOST_TEST(s->sent.empty()); // the sink encodes per recipient (its own ack id)
        }
    }
    BOOST_TEST_REQUIRE(second->outgoing.size() == 1u);
    BOOST_TEST(second->outgoing[0]->name == "q");
    BOOST_TEST(first->outgoing.empty());

    first->acks[0].done(sio::ack_result{{}, sio::make_arguments("one")});
    second->acks[0].done(sio::ack_result{{}, sio::make_arguments("two")});
    ctx.restart();
    ctx.run();
    const auto r = result.get();
    BOOST_TEST(!r.error);
    std::set<std::string> answers;
    for (const auto& a : r.responses)
        answers.insert(a.get<std::string>(0));
    BOOST_TEST((answers == std::set<std::string>{"one", "two"}));
}

BOOST_FIXTURE_TEST_CASE(deliver_counts_the_sinks_that_queued_the_packet, fixture) {
    auto up = std::make_shared<fake_sink>("u", ctx.get_executor());
    auto down = std::make_shared<fake_sink>("d", ctx.get_executor());
    down->connected_ = false;
    auto p = event_packet("e", 3);
    p.nsp = "/";
    const std::vector<std::shared_ptr<sio::socket_sink>> sinks{up, down};
    BOOST_TEST(sio::deliver(p, sinks, false, true) == 1u);
    BOOST_TEST_REQUIRE(up->sent.size() == 1u);
    BOOST_TEST(*up->sent[0].text == R"(2["e",3])");
    BOOST_TEST(down->sent.empty());
    BOOST_TEST(sio::deliver(p, {}, false, true) == 0u);
}

/// A sink of a server with the msgpack parser.
struct msgpack_sink : fake_sink {
    using fake_sink::fake_sink;
    const sio::protocol::packet_codec& codec() const noexcept override {
        return *sio::protocol::msgpack_parser();
    }
};

// A broadcast is encoded once per codec: the sinks of one parser share the same buffers, and each gets its
// parser's encoding (one binary message for msgpack).
BOOST_FIXTURE_TEST_CASE(deliver_encodes_once_per_codec, fixture) {
    auto j1 = std::make_shared<fake_sink>("j1", ctx.get_executor());
    auto m1 = std::make_shared<msgpack_sink>("m1", ctx.get_executor());
    auto j2 = std::make_shared<fake_sink>("j2", ctx.get_executor());
    auto m2 = std::make_shared<msgpack_sink>("m2", ctx.get_executor());
    auto p = event_packet("e", 3);
    p.nsp = "/";
    const std::vector<std::shared_ptr<sio::socket_sink>> sinks{j1, m1, j2, m2};
    BOOST_TEST(sio::deliver(p, sinks, false, true) == 4u);
    for (const auto& s : {j1, j2, std::shared_ptr<fake_sink>(m1), std::shared_ptr<fake_sink>(m2)})
        BOOST_TEST_REQUIRE(s->sent.size() == 1u);
    BOOST_TEST(*j1->sent[0].text == R"(2["e",3])");
    BOOST_TEST(j1->sent[0].text == j2->sent[0].text); // the same buffer
    BOOST_TEST(!m1->sent[0].text);
    BOOST_TEST_REQUIRE(m1->sent[0].attachments.size() == 1u);
    BOOST_TEST(*m1->sent[0].attachments[0] == sio::protocol::encode_msgpack(p));
    BOOST_TEST(m1->sent[0].attachments[0] == m2->sent[0].attachments[0]); // the same buffer
}

// A broadcast to many sockets is delivered in slices on the io_context, consecutive broadcasts to the same
// sockets together: each recipient gets all of them, in order, in one slice, and the first recipients have
// theirs before the last are served.
BOOST_FIXTURE_TEST_CASE(a_large_broadcast_is_delivered_in_slices_in_order, fixture) {
    std::vector<std::shared_ptr<fake_sink>> sinks;
    for (int i = 0; i < 1000; ++i)
        sinks.push_back(add("s" + std::to_string(i), {}));
    sinks[3]->listens_ = true;
    for (int n = 1; n <= 3; ++n)
        adapter.broadcast(event_packet("m", n), sio::broadcast_flags{});
    // Nothing yet: the fan-out runs on the io_context.
    for (const auto& s : sinks)
        BOOST_TEST_REQUIRE(s->sent.empty());

    BOOST_TEST_REQUIRE(ctx.poll_one() == 1u); // one slice
    std::size_t served = 0;
    std::size_t waiting = 0;
    for (const auto& s : sinks) {
        if (s->sent.size() == 3u)
            ++served;
        else if (s->sent.empty())
            ++waiting;
    }
    BOOST_TEST(served > 0u);
    BOOST_TEST(waiting > 0u);
    BOOST_TEST(served + waiting == sinks.size()); // a recipient gets all three at once

    ctx.run();
    for (const auto& s : sinks) {
        BOOST_TEST_CONTEXT(s->id()) {
            BOOST_TEST_REQUIRE(s->sent.size() == 3u);
            BOOST_TEST(*s->sent[0].text == R"(2/chat,["m",1])");
            BOOST_TEST(*s->sent[2].text == R"(2/chat,["m",3])");
        }
    }
    BOOST_TEST(sinks[3]->outgoing.size() == 3u);
    BOOST_TEST(sinks[4]->outgoing.empty());

    // A small broadcast while a large one is queued waits behind it.
    adapter.broadcast(event_packet("m", 4), sio::broadcast_flags{});
    sio::broadcast_flags one;
    one.rooms = {"s999"};
    adapter.broadcast(event_packet("m", 5), one);
    BOOST_TEST(sinks.back()->sent.size() == 3u);
    ctx.restart();
    ctx.run();
    BOOST_TEST_REQUIRE(sinks.back()->sent.size() == 5u);
    BOOST_TEST(*sinks.back()->sent[3].text == R"(2/chat,["m",4])");
    BOOST_TEST(*sinks.back()->sent[4].text == R"(2/chat,["m",5])");
}

// --- the sliced fan-out (256 sinks or more) -------------------------------------------------------------

namespace {

/// A sink whose sends throw (an application's sink, an allocation failure).
struct throwing_sink : fake_sink {
    using fake_sink::fake_sink;
    bool send_encoded(const sio::protocol::encoded_packet&, bool, bool) override {
        throw std::runtime_error("this sink fails");
    }
};

constexpr int sliced = 300; // more than a broadcast needs to be sliced

} // namespace

BOOST_AUTO_TEST_CASE(a_send_that_throws_in_a_slice_costs_only_its_recipient) {
    boost::asio::io_context ctx;
    std::vector<std::shared_ptr<sio::socket_sink>> sinks;
    std::vector<std::shared_ptr<fake_sink>> good;
    sinks.push_back(std::make_shared<throwing_sink>("bad", ctx.get_executor()));
    for (int i = 0; i < sliced; ++i) {
        good.push_back(std::make_shared<fake_sink>("s" + std::to_string(i), ctx.get_executor()));
        sinks.push_back(good.back());
    }
    BOOST_TEST(sio::deliver(event_packet("a", 1), sinks, false, true) == sinks.size());
    BOOST_TEST(good.front()->sent.empty()); // deferred to the slices
    BOOST_CHECK_NO_THROW(ctx.run());
    for (const auto& s : good)
        BOOST_TEST(s->sent.size() == 1u);
    // The queue is not jammed, and the thread no longer counts as working through a slice.
    ctx.restart();
    BOOST_TEST(sio::deliver(event_packet("b", 2), sinks, false, true) == sinks.size());
    BOOST_TEST(good.front()->sent.size() == 1u); // deferred again, not sent at once
    BOOST_CHECK_NO_THROW(ctx.run());
    for (const auto& s : good)
        BOOST_TEST(s->sent.size() == 2u);
}

// Sockets on strands of a general executor (a server made on a strand or a thread pool): the slices run on
// that executor, never on one recipient's strand.
BOOST_AUTO_TEST_CASE(slices_run_on_the_server_executor_not_on_a_recipient_strand) {
    boost::asio::io_context ctx;
    const boost::asio::any_io_executor server_ex = boost::asio::make_strand(ctx); // the server's executor
    std::vector<std::shared_ptr<sio::socket_sink>> sinks;
    std::vector<std::shared_ptr<fake_sink>> all;
    for (int i = 0; i < sliced; ++i) {
        const boost::asio::any_io_executor own = boost::asio::strand<boost::asio::any_io_executor>(server_ex);
        all.push_back(std::make_shared<fake_sink>("s" + std::to_string(i), own));
        sinks.push_back(all.back());
    }
    BOOST_TEST(sio::deliver(event_packet("a", 1), sinks, false, true) == sinks.size());
    ctx.run();
    for (const auto& s : all) {
        BOOST_TEST(s->sent.size() == 1u);
        BOOST_TEST(!s->sent_on_own_strand);
    }
}
