// Private to the library: a command handed to a connection with a reply callback, whose refusal before
// command() returned (queue full, closed: the callback runs at once) is the caller's return value rather
// than a failure reported later. Each refusal is told once: returned, or seen by the callback.
//
//     auto h = std::make_shared<command_handover>();
//     c.command(args, [h](std::error_code ec, reply r) { if (ec && h->refuse(ec)) return; ... });
//     return h->done();
#pragma once

#include <mutex>
#include <system_error>

namespace sio::redis_detail {

struct command_handover {
    /// In the callback: true when `ec` goes back to the caller (command() has not returned yet).
    bool refuse(std::error_code ec) {
        std::lock_guard lock(mutex_);
        if (returned_)
            return false;
        refused_ = ec;
        return true;
    }
    /// After command() returned: the refusal to return (none when the command was handed over).
    std::error_code done() {
        std::lock_guard lock(mutex_);
        returned_ = true;
        return refused_;
    }

private:
    std::mutex mutex_;
    bool returned_ = false;
    std::error_code refused_;
};

} // namespace sio::redis_detail
