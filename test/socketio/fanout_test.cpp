// Large broadcasts over real connections: a broadcast to many sockets is delivered in slices on the
// io_context, and each socket still receives what was sent to it in order: two broadcasts in the order
// they were made, and an emit, an ack or a small broadcast made after a large broadcast after it.
#include <sio/sio.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "support/sio_loopback.hpp"

using namespace sio_test;

namespace {

/// More sockets than a broadcast needs to be sliced (256).
constexpr int many = 300;

void check_order(unsigned threads) {
    sio_server ts;
    auto io = ts.io().of("/");
    io.on_connection([io](sio::socket s) {
        s.on("go", [io](sio::socket s, sio::event& ev) {
            io.emit("m", 1);
            io.emit("m", 2);
            s.emit("m", 3);             // to this socket only: after 1 and 2
            io.to(s.id()).emit("m", 4); // a small broadcast: after 3
            io.emit("m", 5);
            ev.ack("done"); // the ack: after 5
        });
        s.on("bye", [io](sio::socket s) {
            io.emit("m", 6);
            s.disconnect(); // its DISCONNECT: after 6
        });
    });
    ts.start(threads);
    std::vector<sio_client> clients;
    clients.reserve(many);
    for (int i = 0; i < many; ++i) {
        clients.push_back(ts.client());
        clients.back().connect();
    }
    auto& first = clients.front();
    first.send(R"(421["go"])");
    BOOST_TEST(first.read() == R"(42["m",1])");
    BOOST_TEST(first.read() == R"(42["m",2])");
    BOOST_TEST(first.read() == R"(42["m",3])");
    BOOST_TEST(first.read() == R"(42["m",4])");
    BOOST_TEST(first.read() == R"(42["m",5])");
    BOOST_TEST(first.read() == R"(431["done"])");
    for (std::size_t i = 1; i < clients.size(); ++i) {
        BOOST_TEST_CONTEXT("client " << i) {
            BOOST_TEST(clients[i].read() == R"(42["m",1])");
            BOOST_TEST(clients[i].read() == R"(42["m",2])");
            BOOST_TEST(clients[i].read() == R"(42["m",5])");
        }
    }
    first.send(R"(42["bye"])");
    BOOST_TEST(first.read() == R"(42["m",6])");
    BOOST_TEST(first.read() == "41");
    for (std::size_t i = 1; i < clients.size(); ++i)
        BOOST_TEST(clients[i].read() == R"(42["m",6])");
}

} // namespace

BOOST_AUTO_TEST_CASE(a_socket_receives_large_broadcasts_and_its_own_emits_in_order) {
    check_order(1);
}

BOOST_AUTO_TEST_CASE(the_order_holds_with_the_server_on_two_threads) {
    check_order(2);
}

// A connection the server closes right after a large broadcast still gets the broadcast first: its close
// waits behind the broadcast's slices, as its queue is flushed before a graceful close.
BOOST_AUTO_TEST_CASE(a_connection_closed_after_a_large_broadcast_gets_it_first) {
    sio_server ts;
    auto io = ts.io().of("/");
    io.on_connection([io](sio::socket s) {
        s.on("close me", [io](sio::socket s) {
            io.emit("m", 7);
            s.disconnect(true); // its DISCONNECT, then the end of the connection: after 7
        });
    });
    ts.start();
    std::vector<sio_client> clients;
    clients.reserve(many);
    for (int i = 0; i < many; ++i) {
        clients.push_back(ts.client());
        clients.back().connect();
    }
    auto& first = clients.front();
    first.send(R"(42["close me"])");
    BOOST_TEST(first.read() == R"(42["m",7])");
    BOOST_TEST(first.read() == "41");
    BOOST_TEST(first.closed());
    for (std::size_t i = 1; i < clients.size(); ++i)
        BOOST_TEST(clients[i].read() == R"(42["m",7])");
}

BOOST_AUTO_TEST_CASE(a_graceful_server_close_after_a_large_broadcast_delivers_it) {
    sio_server ts;
    auto io = ts.io().of("/");
    auto& server = ts.io();
    io.on_connection([io, &server](sio::socket s) {
        s.on("shut down", [io, &server](sio::socket) {
            io.emit("m", 8);
            (void)server.close(std::chrono::seconds(5)); // starts at once: the connections then close
        });
    });
    ts.start();
    std::vector<sio_client> clients;
    clients.reserve(many);
    for (int i = 0; i < many; ++i) {
        clients.push_back(ts.client());
        clients.back().connect();
    }
    clients.front().send(R"(42["shut down"])");
    for (std::size_t i = 0; i < clients.size(); ++i) {
        BOOST_TEST_CONTEXT("client " << i) {
            BOOST_TEST(clients[i].read() == R"(42["m",8])");
            BOOST_TEST(clients[i].closed());
        }
    }
}

namespace {

std::vector<std::string> read_until_closed(sio_client& c) {
    std::vector<std::string> got;
    while (auto m = c.next())
        got.push_back(m->data);
    return got;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<sio_client> connect_many(sio_server& ts) {
    std::vector<sio_client> clients;
    clients.reserve(many);
    for (int i = 0; i < many; ++i) {
        clients.push_back(ts.client());
        clients.back().connect();
    }
    return clients;
}

} // namespace

// The client sends again while its DISCONNECT waits behind a large broadcast's slices: the broadcast and
// the DISCONNECT are still written before the connection closes (the packet is ignored).
BOOST_AUTO_TEST_CASE(a_deferred_disconnect_is_written_when_the_client_sends_meanwhile) {
    sio_server ts;
    auto io = ts.io().of("/");
    io.on_connection([io](sio::socket s) {
        s.on("close me", [io](sio::socket s) {
            io.emit("m", 7);
            s.disconnect(true);
        });
    });
    ts.start();
    auto clients = connect_many(ts);
    auto& first = clients.front();
    first.send_together({R"(42["close me"])", R"(42["more"])", "40/nowhere,"});
    const auto got = read_until_closed(first);
    BOOST_TEST_REQUIRE(got.size() == 2u);
    BOOST_TEST(got[0] == R"(42["m",7])");
    BOOST_TEST(got[1] == "41");
    for (std::size_t i = 1; i < clients.size(); ++i)
        BOOST_TEST(clients[i].read() == R"(42["m",7])");
}

// While a graceful io.close() waits behind a large broadcast's slices, a CONNECT is refused with
// CONNECT_ERROR "server shutting down", and a packet for the socket the shutdown closed does not close the
// connection before the broadcast is written.
BOOST_AUTO_TEST_CASE(a_connect_during_a_deferred_server_close_is_refused) {
    sio_server ts;
    auto io = ts.io().of("/");
    auto other = ts.io().of("/other");
    auto& server = ts.io();
    io.on_connection([io, &server](sio::socket s) {
        s.on("shut down", [io, &server](sio::socket) {
            io.emit("m", 8);
            (void)server.close(std::chrono::seconds(5));
        });
    });
    ts.start();
    auto clients = connect_many(ts);
    auto& first = clients.front();
    first.send_together({R"(42["shut down"])", "40/other,", R"(42["after"])"});
    const auto got = read_until_closed(first);
    BOOST_TEST(contains(got, R"(42["m",8])"));
    BOOST_TEST(contains(got, R"(44/other,{"message":"server shutting down"})"));
    BOOST_TEST(std::none_of(got.begin(), got.end(),
                            [](const std::string& m) { return m.starts_with("40/other,"); }));
    for (std::size_t i = 1; i < clients.size(); ++i) {
        BOOST_TEST(clients[i].read() == R"(42["m",8])");
        BOOST_TEST(clients[i].closed());
    }
}

// The fan-out histogram counts the recipients of a sliced broadcast (queued later, by the slices).
BOOST_AUTO_TEST_CASE(a_sliced_broadcast_counts_its_recipients) {
    sio::server_options o;
    o.metrics = sio::metrics_options{};
    sio_server ts(std::move(o));
    ts.start();
    auto clients = connect_many(ts);
    ts.io().emit("m", 9);
    for (auto& c : clients)
        BOOST_TEST(c.read() == R"(42["m",9])");
    const auto m = ts.io().metrics();
    BOOST_TEST(m.value("sio_broadcast_recipients") == 1);
    const auto* f = m.find("sio_broadcast_recipients");
    BOOST_TEST_REQUIRE(f);
    BOOST_TEST_REQUIRE(f->histograms.size() == 1u);
    BOOST_TEST(f->histograms.front().sum == static_cast<double>(many));
    // Each slice counts its packets in one addition; the totals are per recipient (and CONNECT answer).
    BOOST_TEST(m.value("sio_packets_sent_total") == 2.0 * many);
    BOOST_TEST(m.value("sio_engine_messages_sent_total") == 2.0 * many);
}
