// sio — a C++20 Socket.IO server.
// config.hpp: version and the few compile-time switches of the library.
#pragma once

#define SIO_VERSION_MAJOR 0
#define SIO_VERSION_MINOR 1
#define SIO_VERSION_PATCH 0

namespace sio {

/// The Engine.IO protocol revision spoken by this library (the `EIO` query parameter).
inline constexpr int engineio_protocol = 4;

/// The Socket.IO protocol revision spoken by this library.
inline constexpr int socketio_protocol = 5;

} // namespace sio
