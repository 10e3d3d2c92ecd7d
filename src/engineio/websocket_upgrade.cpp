// The upgrade from polling to a WebSocket, the steps both WebSocket kinds share (websocket_upgrade.hpp
// describes the procedure). Each transport reads the probe its own way and calls these on the strand.
#include <algorithm>

#include "../log.hpp"
#include "server_impl.hpp"
#include "session_impl.hpp"

namespace sio::engineio::detail {

bool session_impl::may_start_upgrade() const noexcept {
    return state_ == state::open && transport() == transport_kind::polling && !upgrading_ &&
           server_->options_.allow_upgrades;
}

void session_impl::upgrade_started() {
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgrade to websocket started");
    upgrading_ = true;
}

void session_impl::upgrade_probe_answered() {
    // Release a parked GET (or answer the next one) so the client can finish the upgrade.
    push_control(packet_type::noop);
}

void session_impl::upgrade_failed() {
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
    SIO_LOG(engine_socket, debug, "session ", id_, ": upgraded to websocket");
    wake(); // a parked GET answers a noop
}

} // namespace sio::engineio::detail
