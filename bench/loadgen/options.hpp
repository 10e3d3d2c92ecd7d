// The load generator's command line: `sio_loadgen <scenario> --key value...` (the usage is in main.cpp).
#pragma once

#include <map>
#include <string>

namespace loadgen {

struct options {
    std::string scenario;
    std::map<std::string, std::string> kv; // "--key value" without the "--"

    /// The option's value (`def` when absent); throws when it is not a number or not within [lo, hi].
    long num(const std::string& k, long def, long lo, long hi) const;
    /// The option's value, `def` when absent.
    std::string str(const std::string& k, std::string def) const;
};

/// Reads argv into `o`. On a malformed command line, prints the usage or the bad argument on stderr and
/// returns false (the caller exits with 2).
bool parse_options(int argc, char** argv, options& o);

} // namespace loadgen
