// Private to the Redis adapters: the parts of shard_router that its two files share (shard_router.cpp,
// shard_router_topology.cpp).
#pragma once

#include <boost/asio/experimental/concurrent_channel.hpp>

#include <memory>
#include <set>
#include <string>

#include "shard_router.hpp"

namespace sio::redis_detail {

namespace net = boost::asio;

struct shard_router::node {
    cluster_node name;
    std::shared_ptr<command_connection> commands;
    std::shared_ptr<subscriber_connection> subscriber;
    std::set<std::string> channels; ///< placed on this node
};

struct shard_router::settle_waiter : net::experimental::concurrent_channel<void(boost::system::error_code)> {
    using base = net::experimental::concurrent_channel<void(boost::system::error_code)>;
    using base::base;
};

struct shard_router::wake_channel : net::experimental::concurrent_channel<void(boost::system::error_code)> {
    using base = net::experimental::concurrent_channel<void(boost::system::error_code)>;
    using base::base;
};

} // namespace sio::redis_detail
