// The load generator's measurements and its report: the server process's CPU time and memory read from
// /proc/<pid>/, percentiles of latencies, and the result's JSON fields.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

struct proc_sample {
    std::uint64_t cpu_ticks = 0; // utime + stime
    long threads = 0;
    std::uint64_t rss_bytes = 0;
};

/// The process's CPU ticks, thread count and VmRSS now; throws when /proc/<pid>/stat cannot be read.
proc_sample sample(int pid);

/// Clock ticks (of /proc/<pid>/stat) in seconds.
double ticks_to_s(std::uint64_t t);

/// The p-quantile (0..1) of `v` (reorders it); 0 when empty.
double percentile(std::vector<std::uint32_t>& v, double p);

/// `s` as a JSON string (quotes and backslashes escaped, control characters dropped).
std::string json_string(std::string_view s);

/// A run's result: its JSON fields as `,"key":value...`, in the order added.
struct result {
    std::ostringstream fields;
    template <class T>
    void add(const char* k, T v) {
        fields << ",\"" << k << "\":" << v;
    }
};

} // namespace loadgen
