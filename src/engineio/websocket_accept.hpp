// Private to the library: a WebSocket request as the Engine.IO server checks and answers it, like the
// reference (`ws`): validation before any session exists, and the 101 of the sessions that frame the
// WebSocket themselves (Beast's accept writes it for the others).
#pragma once

#include <string>
#include <string_view>

#include "http_connection.hpp"

namespace sio::engineio::detail {

/// Why a WebSocket upgrade request must be refused before any session is opened for it, or empty. Beast's
/// accept checks the rest, but only after the session exists, and takes any key and answers 426 for a bad
/// version; the reference (`ws`) answers 400 to all of these.
std::string_view websocket_request_error(const request_type& req);

/// The 101 answer to a valid WebSocket request (websocket_request_error), as the reference (`ws`) writes
/// it: the accept key, the first subprotocol asked for, then the fields of the headers events (fields
/// holding a CR or LF are dropped).
std::string websocket_accept_response(const request_type& req, const header_list& fields);

} // namespace sio::engineio::detail
