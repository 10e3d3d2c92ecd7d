#define BOOST_TEST_MODULE engineio_packet
#include <sio/engineio/packet.hpp>
#include <sio/error.hpp>

#include <boost/test/unit_test.hpp>

using namespace sio::engineio;

BOOST_AUTO_TEST_CASE(placeholder) {
    BOOST_TEST(encode_text(packet{packet_type::message, false, "x"}) == "4x");
}
