// The load generator's measurements and its report (report.hpp).
#include "report.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

namespace loadgen {

proc_sample sample(int pid) {
    proc_sample s;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        throw std::runtime_error("cannot read /proc/" + std::to_string(pid) +
                                 "/stat (is the server running?)");
    // Fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15,
    // threads 20.
    auto rp = line.rfind(')');
    std::istringstream in(line.substr(rp + 2));
    std::string f;
    for (int field = 3; in >> f; ++field) {
        if (field == 14 || field == 15)
            s.cpu_ticks += std::stoull(f);
        else if (field == 20) {
            s.threads = std::stol(f);
            break;
        }
    }
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            s.rss_bytes = std::stoull(line.substr(6)) * 1024;
    return s;
}

double ticks_to_s(std::uint64_t t) {
    return static_cast<double>(t) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<std::uint32_t>& v, double p) {
    if (v.empty())
        return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\')
            out += '\\';
        if (static_cast<unsigned char>(ch) >= 0x20)
            out += ch;
    }
    return out + "\"";
}

} // namespace loadgen
