// The HTTP long-polling transport of a session: a parked GET takes what is queued, a POST hands the
// client's packets to the session core. The HTTP side (parsing, CORS, compression) is the connection's.
#include <sio/engineio/packet_v3.hpp>

#include <boost/asio/this_coro.hpp>

#include "server_impl.hpp"
#include "session_impl.hpp"

namespace sio::engineio::detail {

net::awaitable<poll_result> session_impl::handle_get() {
    if (state_ == state::closed)
        co_return poll_result{400, ""};
    if (get_active_) {
        // A second concurrent GET: protocol error. The parked GET answers a close packet.
        do_close(close_reason::transport_error, "overlap from client");
        co_return poll_result{400, ""};
    }
    get_active_ = true;
    drain_inbox();
    auto cs = co_await net::this_coro::cancellation_state;
    while (state_ != state::closed && queue_.empty() && transport() == transport_kind::polling) {
        co_await wait_for_wake();
        if (cs.cancelled() != net::cancellation_type::none) {
            get_active_ = false;
            co_return poll_result{0, ""};
        }
    }
    get_active_ = false;
    if (state_ == state::closed) {
        poll_result closed;
        closed.body.assign(1, poll_close_body_);
        if (protocol_ == 3)
            closed.body.insert(0, "1:");
        co_return closed;
    }
    if (transport() != transport_kind::polling)
        co_return poll_result{200, protocol_ == 3 ? "1:6" : "6"}; // upgraded while parked
    // The close packet of a graceful close travels alone, in the response after the last packets (like the
    // reference): a client hands decoded packets over asynchronously and would see the close first.
    poll_result r;
    r.compress = false;
    bool has_close = false;
    std::size_t taken = 0;
    for (const auto& p : queue_) {
        r.compress = r.compress || p.compress;
        if (p.type == packet_type::close && taken > 0)
            break;
        r.binary = r.binary || (p.binary && v3_binary()); // a v3 client that reads binary gets it so
        has_close = p.type == packet_type::close;
        ++taken;
        if (has_close)
            break;
    }
    for (std::size_t i = 0; i < taken; ++i) {
        const out_packet& p = queue_[i];
        if (protocol_ == 3 && r.binary)
            v3::append_binary_payload_record(r.body, p.type, p.binary, p.view());
        else if (protocol_ == 3)
            v3::append_payload_record(r.body, p.type, p.binary, p.view());
        else {
            if (i > 0)
                r.body.push_back(record_separator);
            append_text(r.body, p.type, p.binary, p.view());
        }
        release(p);
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
    if (has_close)
        do_close(close_reason::forced_close, "server close");
    co_return r;
}

net::awaitable<std::error_code> session_impl::handle_post(std::vector<packet> packets,
                                                          std::error_code decode_error) {
    for (auto& p : packets) {
        while (reading_held() && state_ != state::closed)
            co_await wait_for_wake(); // back-pressure from the layer above: the POST answers later
        if (state_ == state::closed)
            co_return error::session_closed;
        if (p.type == packet_type::close && get_active_) {
            // The client closes: the parked GET answers a noop (reference), then the session ends.
            do_close(close_reason::transport_close, "client close");
            co_return std::error_code{};
        }
        on_packet(std::move(p));
    }
    if (decode_error) {
        do_close(close_reason::parse_error, decode_error.message());
        co_return decode_error;
    }
    co_return std::error_code{};
}

net::awaitable<void> session_impl::handle_poll_aborted() {
    do_close(close_reason::transport_error, "poll connection closed prematurely");
    co_return;
}

} // namespace sio::engineio::detail
