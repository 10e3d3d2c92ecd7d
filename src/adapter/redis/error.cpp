// The "sio.redis" error category.
#include "error.hpp"

#include <string>

namespace sio::redis_detail {

namespace {

class redis_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "sio.redis"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::closed:
            return "redis connection closed";
        case errc::not_connected:
            return "redis connection down";
        case errc::protocol_error:
            return "redis protocol error";
        case errc::reply_too_large:
            return "redis reply too large";
        case errc::auth_failed:
            return "redis AUTH refused";
        case errc::select_failed:
            return "redis SELECT refused";
        case errc::subscribe_failed:
            return "redis subscription refused";
        case errc::invalid_command:
            return "empty redis command";
        case errc::command_timeout:
            return "redis command timed out";
        case errc::queue_full:
            return "redis outgoing queue full";
        }
        return "unknown redis error";
    }
};

} // namespace

const std::error_category& redis_category() noexcept {
    static const redis_error_category category;
    return category;
}

} // namespace sio::redis_detail
