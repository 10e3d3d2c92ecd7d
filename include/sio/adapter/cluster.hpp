// sio — the cluster adapter: the requests and responses between the servers of a cluster, over a transport
// that a derived class supplies (publish to every other server, send a response to one of them).
#pragma once

#include <sio/adapter/memory.hpp>
#include <sio/config.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace sio {

/// One message between the servers of a cluster. Which fields are set depends on `type`.
struct cluster_message {
    enum class kind {
        broadcast,                 ///< packet, opts; request_id when acknowledgements are wanted
        sockets_join,              ///< opts, rooms
        sockets_leave,             ///< opts, rooms
        disconnect_sockets,        ///< opts, close
        fetch_sockets,             ///< opts, request_id
        fetch_sockets_response,    ///< request_id, sockets
        server_side_emit,          ///< event, args; request_id when an acknowledgement is wanted
        server_side_emit_response, ///< request_id, args
        broadcast_client_count,    ///< request_id, client_count
        broadcast_ack,             ///< request_id, args
        all_rooms,                 ///< request_id
        all_rooms_response,        ///< request_id, rooms
    };
    kind type = kind::broadcast;
    std::string uid;        ///< the sending server
    std::string request_id; ///< set on requests that expect responses, and on those responses
    broadcast_flags opts;   ///< which sockets (rooms, except) and how (volatile, compress, timeout)
    std::vector<std::string> rooms;
    bool close = false;
    std::string event;                   ///< broadcast, server_side_emit
    arguments args;                      ///< event arguments, or an acknowledgement
    std::vector<socket_details> sockets; ///< fetch_sockets_response
    std::size_t client_count = 0;        ///< broadcast_client_count

    /// True for the kinds that answer a request.
    bool is_response() const noexcept;
};

/// Options of the cluster adapter.
struct cluster_options {
    /// This server's id in the cluster; empty: 16 random hex characters.
    std::string uid;
    /// How long `fetch_sockets` and `all_rooms` wait for the other servers (the reference's
    /// `requestsTimeout`, 5 s).
    std::chrono::milliseconds requests_timeout{5000};
};

/// The cluster logic of every remote adapter: each operation is applied here and published to the other
/// servers, requests wait for one answer per other server (bounded by a timeout, partial results kept),
/// and messages from the other servers are applied to this server's sockets.
///
/// A derived class implements the transport: `publish` (to every other server), `publish_response` (to the
/// server that asked), `remote_server_count`, and calls `on_message` with every message it receives
/// (from any thread). Thread-safe.
class cluster_adapter : public memory_adapter {
public:
    cluster_adapter(adapter_host& host, cluster_options options = {});
    ~cluster_adapter() override;

    const std::string& uid() const noexcept;

    /// Handles a message from another server (messages carrying this server's uid are ignored).
    void on_message(cluster_message message);

    void broadcast(protocol::packet packet, const broadcast_flags& flags) override;
    boost::asio::awaitable<broadcast_ack_result> broadcast_with_ack(protocol::packet packet,
                                                                    broadcast_flags flags) override;
    /// No connection state recovery: the servers share no offsets (like the reference's classic Redis
    /// adapter). The server logs it at startup when recovery is enabled.
    bool enable_recovery(const connection_state_recovery_options&) override { return false; }
    boost::asio::awaitable<std::error_code> add_sockets(broadcast_flags flags,
                                                        std::vector<std::string> rooms) override;
    boost::asio::awaitable<std::error_code> del_sockets(broadcast_flags flags,
                                                        std::vector<std::string> rooms) override;
    boost::asio::awaitable<std::error_code> disconnect_sockets(broadcast_flags flags, bool close) override;
    boost::asio::awaitable<fetched_sockets> fetch_sockets(broadcast_flags flags) override;
    boost::asio::awaitable<room_list> all_rooms() override;
    boost::asio::awaitable<std::error_code> server_side_emit(std::string event, arguments args) override;
    boost::asio::awaitable<server_side_responses>
    server_side_emit_with_ack(std::string event, arguments args, std::chrono::milliseconds timeout) override;
    boost::asio::awaitable<std::size_t> server_count() override;
    /// Fails the pending requests (`error::adapter_closed`) and ignores further messages.
    void close() override;
    /// Resolves once the transport reported itself subscribed (`set_subscribed(true)`; the initial state
    /// is subscribed), or with `error::adapter_closed` once closed.
    boost::asio::awaitable<std::error_code> ready() override;

protected:
    /// Sends a message to every other server.
    [[nodiscard]] virtual boost::asio::awaitable<std::error_code> publish(cluster_message message) = 0;
    /// Sends a response to the server `requester_uid`.
    [[nodiscard]] virtual boost::asio::awaitable<std::error_code>
    publish_response(std::string requester_uid, cluster_message message) = 0;
    /// The number of servers in the cluster, this one included.
    [[nodiscard]] virtual boost::asio::awaitable<std::size_t> remote_server_count() = 0;
    /// The ids of the other servers, when the transport knows them (to name the silent ones); empty
    /// otherwise.
    virtual std::vector<std::string> other_server_ids() const { return {}; }
    /// Reports whether the transport is subscribed, i.e. receives what the other servers publish: `ready()`
    /// waits for true. A transport that connects asynchronously sets false in its constructor, then true
    /// once subscribed (and false / true as the connection is lost and restored). Any thread.
    void set_subscribed(bool subscribed);

private:
    struct state;
    struct pending;
    static boost::asio::awaitable<void> respond(std::shared_ptr<const void> anchor, cluster_adapter* self,
                                                std::string to, cluster_message message);
    static boost::asio::awaitable<void> respond_fetch(std::shared_ptr<const void> anchor,
                                                      cluster_adapter* self, cluster_message request);
    static boost::asio::awaitable<std::error_code> wait_subscribed(std::shared_ptr<state> st);
    void send_response(const std::string& to, cluster_message message);
    /// Joins or leaves here, then tells the other servers (`sockets_join` / `sockets_leave`).
    boost::asio::awaitable<std::error_code> publish_rooms(cluster_message::kind type, broadcast_flags flags,
                                                          std::vector<std::string> rooms);
    std::shared_ptr<pending> start_request(cluster_message::kind type, std::size_t servers);
    void finish_request(const std::shared_ptr<pending>& p);
    void fill_status(cluster_status& status, const pending& p) const;
    void on_response(cluster_message&& message);

    std::shared_ptr<state> state_;
};

} // namespace sio
