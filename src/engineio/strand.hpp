// Private to the library: the strand of a session (and of the Socket.IO state on it).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace sio::engineio::detail {

/// A strand over an io_context's own executor type: 24 bytes, so that it fits the small-object buffer of
/// `any_io_executor` and a copy (every handler, timer and coroutine holds one) allocates nothing.
using io_strand = boost::asio::strand<boost::asio::io_context::executor_type>;
/// The general case: a strand over any executor (a thread_pool's, an application's); copies allocate.
using any_strand = boost::asio::strand<boost::asio::any_io_executor>;

/// A new strand of `ex`, typed as cheaply as `ex` allows.
inline boost::asio::any_io_executor make_session_strand(const boost::asio::any_io_executor& ex) {
    if (const auto* io = ex.target<boost::asio::io_context::executor_type>())
        return io_strand(*io);
    return any_strand(ex);
}

/// `ex` when it is a strand made by make_session_strand (an accepted connection's), else a new strand of
/// `fallback`: a session created on a connection shares its strand (one strand per connection, not two).
inline boost::asio::any_io_executor reuse_or_make_strand(const boost::asio::any_io_executor& ex,
                                                         const boost::asio::any_io_executor& fallback) {
    if (ex.target<io_strand>() || ex.target<any_strand>())
        return ex;
    return make_session_strand(fallback);
}

/// True when the calling thread runs a handler of `strand` (made by make_session_strand).
inline bool running_in(const boost::asio::any_io_executor& strand) noexcept {
    if (const auto* s = strand.target<io_strand>())
        return s->running_in_this_thread();
    if (const auto* s = strand.target<any_strand>())
        return s->running_in_this_thread();
    return false;
}

} // namespace sio::engineio::detail
