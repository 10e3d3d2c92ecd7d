// sio — a C++20 Socket.IO server.
// config.hpp: version and the few compile-time switches of the library.
#pragma once

// libsio holds the one compiled copy of Asio and Beast; a program that includes sio's headers must see them
// as declarations only. Without these definitions it compiles a second Asio of its own, which links and
// runs, but the two do not share their state (signals such as SIGTERM are never delivered, for one).
// (SIO_NO_LIBSIO: for code that compiles a few of sio's sources and never links libsio, like sio's own
// fuzz targets; a program linking libsio must not define it.)
#if !defined(SIO_NO_LIBSIO) &&                                                                               \
    (!defined(BOOST_ASIO_SEPARATE_COMPILATION) || !defined(BOOST_BEAST_SEPARATE_COMPILATION))
#error                                                                                                       \
    "sio: compile with -DBOOST_ASIO_SEPARATE_COMPILATION -DBOOST_BEAST_SEPARATE_COMPILATION (the CMake target sio::sio and `pkg-config --cflags sio` set them)"
#endif

#define SIO_VERSION_MAJOR 0
#define SIO_VERSION_MINOR 1
#define SIO_VERSION_PATCH 0

namespace sio {

/// The Engine.IO protocol revision spoken by this library (the `EIO` query parameter).
inline constexpr int engineio_protocol = 4;

/// The Socket.IO protocol revision spoken by this library.
inline constexpr int socketio_protocol = 5;

} // namespace sio
