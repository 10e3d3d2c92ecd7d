// Private to the library: a session's copy of its handshake request, packed while nobody reads it.
//
// Every session keeps the request that opened it (session::request(), Socket.IO's socket.handshake()),
// but most applications never look at it. A request_info is 160 bytes of strings plus three heap blocks
// (the target, the header text and the header offsets); packed, it is one block of the bytes themselves
// and a few length bytes, the strings most handshakes carry (common header names, `websocket`, `GET`, the
// usual targets) one byte each. The request_info is built on the first request() and the packed block
// freed.
#pragma once

#include <sio/options.hpp>

#include <memory>
#include <mutex>

namespace sio::engineio::detail {

class compact_request {
public:
    explicit compact_request(const request_info& request);
    compact_request(const compact_request&) = delete;
    compact_request& operator=(const compact_request&) = delete;

    /// The request as it was given; built on the first call (any thread, once), then the same object for
    /// the life of this one.
    const request_info& get() const;
    /// The bytes `request` takes packed.
    static std::size_t packed_size(const request_info& request) noexcept;

private:
    mutable std::once_flag once_;
    mutable std::unique_ptr<char[]> packed_;           // until the first get()
    mutable std::unique_ptr<const request_info> full_; // from the first get()
};

} // namespace sio::engineio::detail
