// The upgrade from polling to a WebSocket: one procedure, driven by the reader of either WebSocket kind
// (websocket_upgrade.hpp describes it). The kind reads the probe, writes the answer and closes the probe
// its own way; what is decided, and when, is decided here.
#include <algorithm>

#include "../log.hpp"
#include "server_impl.hpp"
#include "session_impl.hpp"

namespace sio::engineio::detail {

bool session_impl::upgrade_begin(std::shared_ptr<ws_stream> probe) {
    if (!may_start_upgrade())
        return false;
    auto& socket = beast::get_lowest_layer(*probe).socket();
    probe_state().beast_probe = probe;
    upgrade_started(std::move(probe), socket);
    return true;
}

bool session_impl::upgrade_begin(framed_socket probe) {
    if (!may_start_upgrade())
        return false;
    auto& socket = *probe;
    framed_reset(); // the probe reads with its parser
    probe_state().framed_probe = probe;
    upgrade_started(std::move(probe), socket);
    return true;
}

bool session_impl::may_start_upgrade() const noexcept {
    return state_ == state::open && transport() == transport_kind::polling && !upgrading_ &&
           server_->options_.allow_upgrades;
}

void session_impl::upgrade_started(std::shared_ptr<void> owner, net::ip::tcp::socket& socket) {
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade to websocket started");
    upgrading_ = true;
    auto& deadline = probe_state().probe_deadline.emplace(strand_);
    // The timer goes with the probe (end_probe); it cuts the socket only while that socket still probes.
    sio::detail::wait_after(
        test_clock(), deadline, server_->options_.upgrade_timeout,
        [weak = weak_from_this(), owner = std::move(owner), &socket](beast::error_code ec) {
            const auto s = weak.lock();
            if (!ec && s && s->upgrade_probe() == owner.get()) {
                beast::error_code ignored;
                socket.close(ignored); // the probe's reader sees it and fails the upgrade
            }
        });
}

const void* session_impl::upgrade_probe() const noexcept {
    if (!probe_)
        return nullptr;
    if (probe_->framed_probe)
        return probe_->framed_probe.get();
    return probe_->beast_probe.get();
}

upgrade_action session_impl::upgrade_message(bool text, std::string_view payload) {
    if (state_ != state::open) // closing or closed meanwhile
        return upgrade_action::fail;
    switch (probe_message(text, payload)) {
    case probe_step::answer:
        return upgrade_action::write_answer;
    case probe_step::complete:
        return upgrade_action::complete;
    case probe_step::fail:
        break;
    }
    return upgrade_action::fail;
}

bool session_impl::upgrade_answer_written(bool written) {
    if (!written || state_ != state::open)
        return false;
    // Release a parked GET (or answer the next one) so the client can finish the upgrade.
    push_control(packet_type::noop);
    return true;
}

void session_impl::upgrade_fail() {
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade failed");
    upgrading_ = false;
    end_probe();
}

void session_impl::upgrade_completed() {
    upgrading_ = false;
    end_probe();
    std::erase_if(queue_, [this](const out_packet& p) {
        if (p.type != packet_type::noop)
            return false;
        release(p);
        return true;
    });
    transport_.store(transport_kind::websocket, std::memory_order_release);
    if (auto* m = metrics()) { // metrics hook
        m->add(metrics_detail::cell::upgrades);
        m->add(metrics_detail::cell::sessions_open + static_cast<std::size_t>(transport_kind::polling), -1);
        m->add(metrics_detail::cell::sessions_open + static_cast<std::size_t>(transport_kind::websocket));
    }
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgraded to websocket");
    if (listener_) // observer hook (the Admin UI's socket_updated)
        listener_->on_upgrade();
    wake(); // a parked GET answers a noop
}

} // namespace sio::engineio::detail
