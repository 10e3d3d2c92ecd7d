// sio — umbrella header.
#pragma once

#include <sio/broadcast.hpp>
#include <sio/config.hpp>
#include <sio/engineio/server.hpp>
#include <sio/error.hpp>
#include <sio/log.hpp>
#include <sio/namespace.hpp>
#include <sio/options.hpp>
#include <sio/server.hpp>
#include <sio/socket.hpp>
#include <sio/value.hpp>
