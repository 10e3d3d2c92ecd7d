// The Admin UI's session ids in Redis, in the key format of @socket.io/admin-ui's RedisStore, so that one
// login works on every server of a cluster, Node's included.
#include <sio/admin.hpp>

#include "../adapter/redis/connection.hpp"
#include "../adapter/redis/endpoint_of.hpp"

namespace sio::admin {

namespace {

class redis_store final : public session_store {
public:
    redis_store(boost::asio::any_io_executor ex, redis_detail::endpoint ep, std::string prefix,
                std::chrono::seconds lifetime)
        : connection_(std::move(ex), std::move(ep)), prefix_(std::move(prefix)), lifetime_(lifetime) {}

    boost::asio::awaitable<bool> exists(std::string id) override {
        std::vector<std::string> args; // (a braced list here trips GCC 12 inside a coroutine)
        args.push_back("EXISTS");
        args.push_back(key(id));
        auto [ec, reply] = co_await connection_.command(std::move(args));
        co_return !ec && reply.type == redis_detail::reply::kind::integer && reply.integer == 1;
    }

    void save(std::string id) override {
        // Node's store: SET <prefix>#<id> "1" EX <seconds>. A failure (Redis down) only means that the UI
        // logs in with its password next time.
        (void)connection_.send({"SET", key(id), "1", "EX", std::to_string(lifetime_.count())});
    }

    void close() override { connection_.close(); }

private:
    std::string key(const std::string& id) const { return prefix_ + "#" + id; }

    redis_detail::command_connection connection_;
    const std::string prefix_;
    const std::chrono::seconds lifetime_;
};

} // namespace

std::shared_ptr<session_store> make_redis_store(boost::asio::any_io_executor executor,
                                                const redis_options& redis, std::string prefix,
                                                std::chrono::seconds lifetime) {
    return std::make_shared<redis_store>(std::move(executor), redis_detail::endpoint_of(redis),
                                         std::move(prefix), lifetime);
}

} // namespace sio::admin
