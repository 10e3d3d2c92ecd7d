// A real Redis Cluster for a test: `masters` redis-server processes (plus `replicas_per_master` replicas
// each) with `--cluster-enabled yes` on free loopback ports, their cluster files in a temporary directory,
// joined by `redis-cli --cluster create`. start() returns once every node reports `cluster_state:ok`
// with all 16384 slots served. RAII: the destructor stops every node (each `redis_server` does, even when
// the test fails) and removes the directory.
//
//     sio_test::redis_cluster cluster(3);
//     BOOST_REQUIRE(cluster.start());
//     ... cluster.port(0) ... cluster.node(1).stop() ...
//
// The binaries are /usr/bin/redis-server and /usr/bin/redis-cli ($SIO_REDIS_SERVER, $SIO_REDIS_CLI).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"

namespace sio_test {

class redis_cluster {
public:
    explicit redis_cluster(int masters = 3, int replicas_per_master = 0)
        : masters_(masters), replicas_(replicas_per_master) {}
    ~redis_cluster() {
        nodes_.clear(); // stops them
        std::error_code ec;
        if (!dir_.empty())
            std::filesystem::remove_all(dir_, ec);
    }
    redis_cluster(const redis_cluster&) = delete;
    redis_cluster& operator=(const redis_cluster&) = delete;

    static std::string cli() {
        const char* env = std::getenv("SIO_REDIS_CLI");
        return env && *env ? env : "/usr/bin/redis-cli";
    }

    /// Starts the nodes, creates the cluster and waits (at most `within`) until it serves every slot.
    bool start(std::chrono::seconds within = std::chrono::seconds(30)) {
        char pattern[] = "/tmp/sio-test-cluster-XXXXXX";
        if (!::mkdtemp(pattern))
            return false;
        dir_ = pattern;
        const int total = masters_ * (1 + replicas_);
        for (int i = 0; i < total; ++i) {
            nodes_.push_back(std::make_unique<redis_server>(std::vector<std::string>{
                "--cluster-enabled", "yes", "--cluster-config-file",
                dir_ + "/nodes-" + std::to_string(i) + ".conf", "--cluster-node-timeout", "3000",
                "--cluster-replica-validity-factor", "0", "--dir", dir_}));
            if (!nodes_.back()->start())
                return false;
        }
        std::string cmd = "timeout 60 " + cli() + " --cluster create";
        for (const auto& n : nodes_)
            cmd += " 127.0.0.1:" + std::to_string(n->port());
        cmd += " --cluster-replicas " + std::to_string(replicas_) + " --cluster-yes >" + dir_ +
               "/create.log 2>&1";
        if (std::system(cmd.c_str()) != 0)
            return false;
        const auto deadline = std::chrono::steady_clock::now() + within;
        for (int i = 0; i < total; ++i)
            if (!wait_ok(port(i), deadline))
                return false;
        return true;
    }

    std::uint16_t port(int i) const { return nodes_[i]->port(); }
    redis_server& node(int i) { return *nodes_[i]; }
    int size() const { return static_cast<int>(nodes_.size()); }

    /// What `redis-cli -p <port> <args>` prints (empty when it fails).
    static std::string run(std::uint16_t port, const std::string& args) {
        const std::string cmd =
            "timeout 10 " + cli() + " -p " + std::to_string(port) + " " + args + " 2>/dev/null";
        std::string out;
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            char buf[4096];
            std::size_t n = 0;
            while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
                out.append(buf, n);
            ::pclose(p);
        }
        return out;
    }

    /// Polls `CLUSTER INFO` of the node at `port` until it reports the cluster ok with every slot served.
    static bool wait_ok(std::uint16_t port, std::chrono::steady_clock::time_point deadline) {
        while (std::chrono::steady_clock::now() < deadline) {
            const auto info = run(port, "cluster info");
            if (info.find("cluster_state:ok") != std::string::npos &&
                info.find("cluster_slots_ok:16384") != std::string::npos)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50)); // polling Redis
        }
        return false;
    }

    const std::string& dir() const { return dir_; }

private:
    int masters_;
    int replicas_;
    std::string dir_;
    std::vector<std::unique_ptr<redis_server>> nodes_;
};

} // namespace sio_test
