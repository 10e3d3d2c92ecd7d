// sio — what an adapter may ask of the namespace it serves (implemented by the library).
#pragma once

#include <sio/config.hpp>
#include <sio/protocol/codec.hpp>
#include <sio/value.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>

namespace sio {

/// What an adapter may ask of the namespace it serves. Implemented by the library (tests may fake it);
/// valid as long as the adapter. Every member may be called from any thread.
class adapter_host {
public:
    virtual const std::string& name() const noexcept = 0;
    virtual boost::asio::any_io_executor executor() const = 0;
    /// Keeps the namespace, and so its adapter, alive while held: for work an adapter starts on its own
    /// (answering another server) that may outlive the server's shutdown.
    virtual std::shared_ptr<const void> anchor() const = 0;
    /// Runs the namespace's server-side handlers (`io.of(nsp).on(event, ...)`) for an event another server
    /// sent. `reply` is empty when the sender wants no acknowledgement; only its first call counts.
    virtual void deliver_server_side(std::string event, arguments args,
                                     std::function<void(arguments)> reply) = 0;
    /// The packet codec of the namespace's server (`server_options::parser`), for an adapter that encodes a
    /// packet itself (then `deliver(packet, codec, encoded, ...)`). Defaults to the JSON parser.
    virtual const protocol::packet_codec& codec() const noexcept;

protected:
    ~adapter_host() = default;
};

} // namespace sio
