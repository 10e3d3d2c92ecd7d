// The load generator's command line (options.hpp).
#include "options.hpp"

#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace loadgen {

long options::num(const std::string& k, long def, long lo, long hi) const {
    auto it = kv.find(k);
    long v = def;
    if (it != kv.end()) {
        char* end = nullptr;
        v = std::strtol(it->second.c_str(), &end, 10);
        if (!end || *end)
            throw std::runtime_error("--" + k + ": not a number: " + it->second);
    }
    if (v < lo || v > hi)
        throw std::runtime_error("--" + k + " must be within [" + std::to_string(lo) + ", " +
                                 std::to_string(hi) + "]");
    return v;
}

std::string options::str(const std::string& k, std::string def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
}

bool parse_options(int argc, char** argv, options& o) {
    if (argc < 2 || argv[1][0] == '-') {
        std::cerr
            << "usage: sio_loadgen "
               "conn|echo|bcast|room-bcast|churn|echo-conn|cross-bcast|poll-conn|poll-echo|poll-bcast|soak "
               "--port "
               "P --pid PID [--key "
               "value]...\n";
        return false;
    }
    o.scenario = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0 || i + 1 >= argc) {
            std::cerr << "sio_loadgen: bad argument " << k << "\n";
            return false;
        }
        o.kv[k.substr(2)] = argv[++i];
    }
    return true;
}

} // namespace loadgen
