// Private to the library: a one-shot slot that one coroutine awaits and any thread fills.
#pragma once

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/system/error_code.hpp>

namespace sio::detail {

/// A one-shot slot that one coroutine awaits and any thread fills (`try_send`).
template <class T>
using result_channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, T)>;

} // namespace sio::detail
