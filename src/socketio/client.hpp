// Private to the library: the Socket.IO side of one Engine.IO session (its sockets, one per namespace).
#pragma once

#include <sio/engineio/session.hpp>
#include <sio/namespace.hpp>
#include <sio/protocol/codec.hpp>
#include <sio/protocol/parser.hpp>
#include <sio/recovery.hpp>
#include <sio/socket.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../engineio/session_listener.hpp"
#include "namespace_state.hpp"
#include "socket_state.hpp"

namespace sio::detail {

namespace net = boost::asio;
class server_state;

/// The Socket.IO side of one Engine.IO session. Strand-only except `close`. Owned by its session (as the
/// session's listener) until the session closes or is abandoned.
class client : public std::enable_shared_from_this<client>, public engineio::detail::session_listener {
public:
    client(std::shared_ptr<server_state> server, engineio::session session);

    const std::shared_ptr<server_state> server_;
    const engineio::session session_;

    void start();
    void remove(const std::string& nsp);
    /// Any thread: closes the connection.
    void close();
    /// Strand: a socket's events waiting for receive() reached their bound (hold) or drained (release);
    /// reading from the connection pauses while any socket holds it (session_coroutine.cpp).
    void hold_reading() noexcept;
    void release_reading();
    /// Strand: every socket leaves its namespace (DISCONNECT, "server namespace disconnect"), then the
    /// connection closes (the reference's `client._disconnect()`, behind `socket.disconnect(true)`).
    void disconnect_all();

private:
    void on_message(engineio::message&& m) override;
    void on_close(engineio::close_reason reason, std::string_view description) override;
    /// Tells the observers (server_observer::on_upgrade) about each socket of the connection.
    void on_upgrade() override;
    void on_decoded(protocol::packet&& p);
    /// A CONNECT for namespace `name`: refused, admitted at once, or after the middlewares (a coroutine).
    void connect(const std::string& name, boost::json::object auth);
    /// Connection state recovery: asks the adapter for the session of `pid`, then `join`s.
    net::awaitable<void> recover(std::shared_ptr<client> self, std::shared_ptr<namespace_impl> nsp,
                                 std::string name, boost::json::object auth, std::string pid,
                                 std::optional<std::string> offset);
    /// Makes the socket (restored or fresh), then admits it at once or after the middlewares.
    void join(std::shared_ptr<namespace_impl> nsp, const std::string& name, boost::json::object auth,
              std::optional<restored_session> restored);
    net::awaitable<void> run_middlewares(std::shared_ptr<client> self, std::shared_ptr<socket_impl> s,
                                         std::shared_ptr<namespace_impl> nsp, std::string name,
                                         std::vector<namespace_::middleware> middlewares);
    /// The socket joins its namespace: CONNECT answered, added to the adapter, connection handlers run.
    void admit(const std::shared_ptr<socket_impl>& s, const std::shared_ptr<namespace_impl>& nsp,
               const std::string& name);
    /// Closes the connection. With a cause (`error::protocol_violation`, `error::connect_timeout`), its
    /// sockets leave at once with "forced server close", like the reference; without, they learn the
    /// engine's reason once the session is closed ("forced close" for a packet that does not parse).
    void fail(const char* why, std::error_code cause = {});
    /// The server is closing: a CONNECT gets CONNECT_ERROR "server shutting down" (the connection closes
    /// with the server's graceful close). True when refused.
    bool refuse_while_closing(const std::string& name);

    protocol::decoder decoder_; // the JSON parser's, kept inline (the default: no allocation)
    std::unique_ptr<protocol::packet_decoder> codec_decoder_; // another codec's (server_options::parser)
    bool decoder_pending() const noexcept {
        return codec_decoder_ ? codec_decoder_->pending() : decoder_.pending();
    }
    void decoder_reset() noexcept {
        decoder_.reset();
        if (codec_decoder_)
            codec_decoder_->reset();
    }
    // A connection joins few namespaces: vectors, not hash tables, per connection. The first socket is
    // held in place (most connections join one namespace: no allocation for it).
    boost::container::small_vector<std::shared_ptr<socket_impl>, 1> sockets_; // one per namespace joined
    void forget_socket(const std::shared_ptr<socket_impl>& s) {
        sockets_.erase(std::remove(sockets_.begin(), sockets_.end(), s), sockets_.end());
    }
    /// The namespaces whose middlewares run; allocated while some do (an idle connection holds none).
    std::unique_ptr<std::vector<std::string>> connecting_;
    bool is_connecting(std::string_view nsp) const noexcept {
        return connecting_ && std::find(connecting_->begin(), connecting_->end(), nsp) != connecting_->end();
    }
    void connecting_add(const std::string& nsp) {
        if (!connecting_)
            connecting_ = std::make_unique<std::vector<std::string>>();
        connecting_->push_back(nsp);
    }
    void connecting_done(const std::string& nsp) noexcept {
        if (!connecting_)
            return;
        std::erase(*connecting_, nsp);
        if (connecting_->empty())
            connecting_.reset();
    }
    std::shared_ptr<socket_impl>* find_socket(std::string_view nsp) noexcept {
        for (auto& s : sockets_)
            if (s->nsp_->name_ == nsp)
                return &s;
        return nullptr;
    }
    // Allocated while in use: connecting, waiting for attachments (an idle connection holds neither).
    std::unique_ptr<net::steady_timer> connect_timer_;
    std::unique_ptr<net::steady_timer> attachment_timer_;
    bool closed_ = false;
    /// disconnect_all's close waits behind a large broadcast's slices (which hold the DISCONNECTs): until
    /// then the client's packets are ignored and nothing else closes the connection before them.
    bool close_deferred_ = false;
    std::uint16_t read_holds_ = 0; // sockets whose events waiting for receive() hold reading
    std::uint32_t text_bytes_ = 0; // the size of the last text message (a packet's size on the wire)
};

} // namespace sio::detail
