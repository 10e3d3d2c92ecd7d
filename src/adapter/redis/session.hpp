// Private to the library: one TCP connection to Redis (a `session`), shared by the command and the
// subscriber connections. A session holds the socket, the resolver, the connect timer, the RESP reader
// and the outgoing queue; its state is touched on the owning connection's strand only, and every
// coroutine below runs on that strand. `session::stop` is the one way a session ends: it records why and
// closes the socket, which makes the session's reader return that error. The reader's owner then fails
// what was pending.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "connection.hpp"
#include "resp_reader.hpp"

namespace sio::redis_detail {

using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

/// The RESP form of a command; empty when `args` is empty (or hiredis failed).
std::string format_command(const std::vector<std::string>& args);

/// The bytes of commands issued and not yet written, counted across the sessions of a command
/// connection: reserved by the issuing thread, released on the strand once written or dropped.
using queue_budget = std::atomic<std::size_t>;

/// One TCP connection to Redis. Strand-only.
struct session {
    static constexpr std::size_t read_chunk = 16 * 1024;

    session(const strand_type& strand, const endpoint& ep, std::shared_ptr<queue_budget> budget = {})
        : socket(strand), resolver(strand), timer(strand), parser(ep.max_reply_bytes, ep.max_reply_elements),
          rbuf(read_chunk), queued(std::move(budget)) {}

    boost::asio::ip::tcp::socket socket;
    boost::asio::ip::tcp::resolver resolver;
    boost::asio::steady_timer timer; ///< connect timeout
    resp_reader parser;
    std::vector<char> rbuf;
    std::vector<std::string> outq; ///< formatted commands not written yet
    std::size_t outq_bytes = 0;    ///< their size
    /// The owner's count of queued bytes (null: not counted); `outq` and the batch being written are
    /// in it.
    const std::shared_ptr<queue_budget> queued;
    bool writing = false; ///< a writer coroutine is draining `outq`
    bool stopped = false;
    bool answered = false; ///< Redis answered: the handshake's replies, or a first reply
    std::error_code error; ///< why it stopped

    /// Queues a formatted command (already counted in `queued`); dropped when stopped.
    void push(std::string cmd) {
        if (stopped) {
            release(cmd.size());
            return;
        }
        outq_bytes += cmd.size();
        outq.push_back(std::move(cmd));
    }

    void release(std::size_t n) noexcept {
        if (queued && n != 0)
            queued->fetch_sub(n);
    }

    void stop(std::error_code ec) {
        if (stopped)
            return;
        stopped = true;
        error = ec ? ec : make_error_code(errc::not_connected);
        boost::system::error_code ignored;
        socket.close(ignored);
        resolver.cancel();
        timer.cancel();
        outq.clear();
        release(std::exchange(outq_bytes, 0));
    }
};

/// Connects and authenticates (AUTH, and SELECT when `select_db`) within `connect_timeout`.
boost::asio::awaitable<std::error_code> open_session(std::shared_ptr<session> s, endpoint ep, bool select_db);

/// The next whole reply: one already parsed, or read until there is one.
boost::asio::awaitable<std::pair<std::error_code, reply>> read_one_reply(std::shared_ptr<session> s);

/// Starts a writer coroutine on `strand` that drains the session's queue (one gathered write per batch),
/// unless one runs already, the session stopped or there is nothing to write. A write error stops it.
void start_writer(const strand_type& strand, const std::shared_ptr<session>& s);

} // namespace sio::redis_detail
