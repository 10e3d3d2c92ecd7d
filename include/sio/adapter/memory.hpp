// sio — the in-memory adapter: the rooms of one server (the default adapter).
#pragma once

#include <sio/adapter.hpp>
#include <sio/config.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sio {

/// Keeps a namespace's sockets and rooms in memory and serves every operation locally: one server, so
/// `server_count()` is 1, `server_side_emit` reaches nobody and `fetch_sockets` returns local sockets.
/// Joining or leaving a room is O(1); selecting the sockets of rooms is O(members).
///
/// Adapters that add other servers derive from it and use the `local_*` members for this server's part.
/// A broadcast encodes its packet once and hands it to every selected socket through its `socket_sink`
/// (`sio::deliver`, sio/socket_sink.hpp). Thread-safe.
class memory_adapter : public adapter {
public:
    explicit memory_adapter(adapter_host& host);
    ~memory_adapter() override;

    void add_socket(const socket& s) override;
    void remove_socket(const socket& s) override;
    void add_all(const socket& s, const std::vector<std::string>& rooms) override;
    void del(const socket& s, const std::string& room) override;
    std::vector<std::string> socket_rooms(const socket& s) const override;
    std::vector<socket> local_sockets(const broadcast_flags& flags) const override;
    std::vector<std::string> local_rooms() const override;

    void broadcast(protocol::packet packet, const broadcast_flags& flags) override;
    boost::asio::awaitable<broadcast_ack_result> broadcast_with_ack(protocol::packet packet,
                                                                    broadcast_flags flags) override;
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

    /// Connection state recovery (docs/connection-state-recovery.md): keeps the namespace's broadcast
    /// EVENT packets within the options' bounds (packets, bytes, time), and the sessions of dropped
    /// sockets until `max_disconnection_duration`.
    bool enable_recovery(const connection_state_recovery_options& options) override;
    void persist_session(recovery_session session) override;
    boost::asio::awaitable<std::optional<restored_session>>
    restore_session(std::string pid, std::optional<std::string> offset) override;
    /// Under the lock that also covers each kept broadcast's store and delivery.
    bool add_recovered_socket(const socket& s, restored_session& restored,
                              const std::function<bool()>& write) override;
    /// Stops the expiry timer of the saved sessions (the server is closing).
    void close() override;

protected:
    /// Sends an EVENT packet to the selected local sockets (encoded once).
    void local_broadcast(protocol::packet packet, const broadcast_flags& flags);
    /// Sends an EVENT packet with an ack id to each selected local socket; `on_ack` runs once per
    /// recipient (with `error::ack_timeout` or `error::not_connected` when it did not answer within
    /// `flags.timeout`), on the recipient's strand. Returns the number of recipients.
    std::size_t local_broadcast_with_ack(protocol::packet packet, const broadcast_flags& flags,
                                         std::function<void(ack_result)> on_ack);
    void local_add_sockets(const broadcast_flags& flags, const std::vector<std::string>& rooms);
    void local_del_sockets(const broadcast_flags& flags, const std::vector<std::string>& rooms);
    void local_disconnect_sockets(const broadcast_flags& flags, bool close);
    /// The selected local sockets as other servers see them (`data` is copied on each socket's strand).
    boost::asio::awaitable<std::vector<socket_details>> local_socket_details(broadcast_flags flags) const;

    // --- the room table, by sink: what the `socket` members above do (`add_socket(s)` is
    // `add_sink(socket_sink::of(s))`, the others go by `s.id()`), for derived adapters and for tests that
    // drive the adapter with fake sinks. A sink that is not a socket of the library (`handle()` empty) is
    // reached by broadcasts and room operations, and left out of `local_sockets` and `fetch_sockets`.
    void add_sink(std::shared_ptr<socket_sink> sink);
    void remove_sink(const std::string& id);
    void join_rooms(const std::string& id, const std::vector<std::string>& rooms);
    void leave_room(const std::string& id, const std::string& room);
    std::vector<std::string> rooms_of(const std::string& id) const;
    /// The selected local sockets, as sinks (rooms, except).
    std::vector<std::shared_ptr<socket_sink>> local_sinks(const broadcast_flags& flags) const;
    /// Adds `sink` in `rooms` (its own room only when listed) under the table's lock; returns what reports
    /// the room events, to call once no lock is held (empty when there is none).
    std::function<void()> add_sink_in_rooms(std::shared_ptr<socket_sink> sink,
                                            std::vector<std::string> rooms);

private:
    struct state;
    std::unique_ptr<state> state_;
    struct recovery; // set by enable_recovery (src/adapter/memory_recovery.cpp)
    std::shared_ptr<recovery> recovery_;
    /// With recovery on and a packet it keeps: stores it, delivers it and returns true.
    bool store_and_deliver(protocol::packet& packet, const broadcast_flags& flags);
    void recovery_socket_added(const std::string& id);
    void recovery_socket_removed(const std::string& id);
};

} // namespace sio
