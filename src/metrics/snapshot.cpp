#include "snapshot.hpp"

#include <sio/config.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>
#include <system_error>

namespace sio::metrics_detail {

namespace {

constexpr std::array<std::string_view, cell::transports> transport_names{"polling", "websocket"};
// In the order of engineio::close_reason.
constexpr std::array<std::string_view, cell::close_reasons> close_reason_names{
    "transport_close", "transport_error",     "parse_error",   "ping_timeout",
    "forced_close",    "forced_server_close", "queue_overflow"};
// In the order of sio::disconnect_reason.
constexpr std::array<std::string_view, cell::disconnect_reasons> disconnect_reason_names{
    "transport_error",
    "transport_close",
    "forced_close",
    "ping_timeout",
    "parse_error",
    "server_shutting_down",
    "forced_server_close",
    "client_namespace_disconnect",
    "server_namespace_disconnect"};
// In the order of overflow_policy.
constexpr std::array<std::string_view, cell::overflow_policies> overflow_names{
    "overflow_fail", "overflow_drop", "overflow_disconnect"};
constexpr std::array<std::string_view, cell::adapter_ops> adapter_op_names{
    "fetch_sockets", "server_side_emit", "broadcast_with_ack", "server_count"};

struct builder {
    const std::array<std::int64_t, cell::count>& cells;
    metrics_snapshot out;

    metric_family& family(std::string name, std::string help, std::string type) {
        out.families.push_back(metric_family{std::move(name), std::move(help), std::move(type), {}, {}});
        return out.families.back();
    }
    void single(std::string name, std::string help, std::string type, std::size_t c) {
        family(std::move(name), std::move(help), std::move(type))
            .samples.push_back({{}, static_cast<double>(cells[c])});
    }
    /// The histogram whose bucket cells start at `first` and whose sum is cell `sum`; its bounds and sum
    /// count `per_unit` to the base unit (1000 for milliseconds as seconds).
    template <std::size_t N>
    metric_histogram histogram(std::size_t first, std::size_t sum, const std::array<std::int64_t, N>& bounds,
                               double per_unit) const {
        metric_histogram h;
        std::uint64_t running = 0;
        for (std::size_t i = 0; i <= N; ++i) {
            h.bounds.push_back(i < N ? static_cast<double>(bounds[i]) / per_unit
                                     : std::numeric_limits<double>::infinity());
            running += static_cast<std::uint64_t>(std::max<std::int64_t>(0, cells[first + i]));
            h.cumulative_counts.push_back(running);
        }
        h.sum = static_cast<double>(cells[sum]) / per_unit;
        h.count = running;
        return h;
    }
    /// A histogram per transport: `first` and `sum` as above, each transport's after the last's.
    template <std::size_t N>
    void by_transport(std::string name, std::string help, std::size_t first, std::size_t sum,
                      const std::array<std::int64_t, N>& bounds, double per_unit) {
        auto& f = family(std::move(name), std::move(help), "histogram");
        for (std::size_t t = 0; t < cell::transports; ++t) {
            f.histograms.push_back(histogram(first + t * (N + 1), sum + t, bounds, per_unit));
            f.histograms.back().labels = {{"transport", std::string(transport_names[t])}};
        }
    }
    template <std::size_t N>
    void labelled(std::string name, std::string help, std::string type, std::size_t first, const char* label,
                  const std::array<std::string_view, N>& values) {
        auto& f = family(std::move(name), std::move(help), std::move(type));
        for (std::size_t i = 0; i < N; ++i)
            f.samples.push_back({{{label, std::string(values[i])}}, static_cast<double>(cells[first + i])});
    }
};

} // namespace

metrics_snapshot make_snapshot(const registry& r, const server_view& view) {
    const auto cells = r.read_all();
    builder b{cells, {}};
    using namespace cell;
    b.labelled("sio_engine_sessions", "Engine.IO sessions open, by current transport.", "gauge",
               sessions_open, "transport", transport_names);
    b.labelled("sio_engine_sessions_opened_total",
               "Engine.IO sessions opened, by the transport of the handshake.", "counter", sessions_opened,
               "transport", transport_names);
    b.labelled("sio_engine_sessions_closed_total", "Engine.IO sessions closed, by reason.", "counter",
               sessions_closed, "reason", close_reason_names);
    b.by_transport("sio_engine_session_duration_seconds",
                   "Engine.IO sessions closed, by how long they lasted and their transport at the end.",
                   session_duration_bucket, session_duration_sum, session_duration_buckets, 1e3);
    b.single("sio_engine_upgrades_total", "Sessions upgraded from polling to WebSocket.", "counter",
             upgrades);
    b.by_transport("sio_engine_ping_rtt_seconds",
                   "Time from the server's ping to the client's pong (Engine.IO 4), by transport.",
                   ping_rtt_bucket, ping_rtt_sum, ping_rtt_buckets, 1e6);
    {
        constexpr std::array<std::string_view, handshake_codes> codes{"0", "1", "2", "3", "4", "5"};
        b.labelled(
            "sio_engine_handshake_errors_total",
            "HTTP requests refused with an Engine.IO error code (0 unknown transport, 1 unknown session "
            "id, 2 bad handshake method, 3 bad request, 4 forbidden, 5 unsupported protocol version).",
            "counter", handshake_errors, "code", codes);
    }
    b.labelled("sio_engine_messages_received_total", "Engine.IO message packets received, by transport.",
               "counter", messages_received, "transport", transport_names);
    b.labelled("sio_engine_received_bytes_total", "Bytes of the Engine.IO message packets received.",
               "counter", bytes_received, "transport", transport_names);
    b.labelled("sio_engine_messages_sent_total",
               "Engine.IO message packets handed to the transport, by the transport at that time.", "counter",
               messages_sent, "transport", transport_names);
    b.labelled("sio_engine_sent_bytes_total",
               "Bytes of the Engine.IO message packets handed to the transport.", "counter", bytes_sent,
               "transport", transport_names);
    {
        auto& f = b.family("sio_engine_dropped_messages_total",
                           "Outgoing messages not queued: volatile with no writable transport, or refused by "
                           "the overflow policy of a full queue.",
                           "counter");
        f.samples.push_back({{{"cause", "volatile"}}, static_cast<double>(cells[dropped_volatile])});
        for (std::size_t i = 0; i < overflow_policies; ++i)
            f.samples.push_back({{{"cause", std::string(overflow_names[i])}},
                                 static_cast<double>(cells[dropped_overflow + i])});
    }
    {
        auto& f = b.family("sio_sockets", "Sockets connected on this server, by namespace.", "gauge");
        auto sorted = view.namespace_sockets;
        std::sort(sorted.begin(), sorted.end());
        double other = 0;
        bool any_other = false;
        for (std::size_t i = 0; i < sorted.size(); ++i) {
            if (i < view.namespace_label_limit) {
                f.samples.push_back(
                    {{{"namespace", sorted[i].first}}, static_cast<double>(sorted[i].second)});
            } else {
                other += static_cast<double>(sorted[i].second);
                any_other = true;
            }
        }
        if (any_other)
            f.samples.push_back({{{"namespace", "other"}}, other});
    }
    {
        constexpr std::array<std::string_view, 2> recovered{"false", "true"};
        b.labelled("sio_socket_connects_total",
                   "Sockets that joined a namespace (recovered: by connection state "
                   "recovery).",
                   "counter", socket_connects, "recovered", recovered);
    }
    b.single("sio_socket_connect_errors_total", "Namespace connections refused (CONNECT_ERROR sent).",
             "counter", socket_connect_errors);
    b.labelled("sio_socket_disconnects_total", "Sockets that left their namespace, by reason.", "counter",
               socket_disconnects, "reason", disconnect_reason_names);
    b.single("sio_events_received_total", "Socket.IO events received from clients.", "counter",
             events_received);
    b.single(
        "sio_packets_sent_total",
        "Socket.IO packets queued for clients (events, acks, CONNECT answers; a broadcast counts one per "
        "recipient socket).",
        "counter", packets_sent);
    b.single("sio_acks_pending", "Emits to clients waiting for their acknowledgement.", "gauge",
             acks_pending);
    b.single("sio_ack_timeouts_total", "Acknowledgements from clients that timed out.", "counter",
             ack_timeouts);
    {
        auto& f =
            b.family("sio_broadcast_recipients",
                     "Broadcasts, by the number of this server's sockets each one reached.", "histogram");
        f.histograms.push_back(b.histogram(fanout_bucket, fanout_sum, broadcast_buckets, 1));
    }
    {
        constexpr std::array<std::string_view, recovery_results> results{"recovered", "not_recovered"};
        b.labelled("sio_recoveries_total",
                   "Connection state recovery attempts (a CONNECT with a private id).", "counter", recoveries,
                   "result", results);
    }
    b.labelled("sio_adapter_requests_total", "Requests to the other servers of the cluster, by operation.",
               "counter", adapter_requests, "op", adapter_op_names);
    b.labelled("sio_adapter_request_timeouts_total",
               "Requests to the other servers that timed out before every server answered.", "counter",
               adapter_timeouts, "op", adapter_op_names);
    b.family("sio_build_info", "The sio version serving (always 1).", "gauge")
        .samples.push_back(
            {{{"version", std::to_string(SIO_VERSION_MAJOR) + "." + std::to_string(SIO_VERSION_MINOR) + "." +
                              std::to_string(SIO_VERSION_PATCH)}},
             1.0});
    return std::move(b.out);
}

} // namespace sio::metrics_detail

namespace sio {

const metric_family* metrics_snapshot::find(std::string_view name) const noexcept {
    for (const auto& f : families)
        if (f.name == name)
            return &f;
    return nullptr;
}

double metrics_snapshot::value(std::string_view name,
                               const std::map<std::string, std::string>& labels) const {
    const auto* f = find(name);
    if (!f)
        return 0;
    const auto matches = [&labels](const std::map<std::string, std::string>& have) {
        for (const auto& [k, v] : labels) {
            auto it = have.find(k);
            if (it == have.end() || it->second != v)
                return false;
        }
        return true;
    };
    double sum = 0;
    for (const auto& h : f->histograms) // a histogram's value is its count
        if (matches(h.labels))
            sum += static_cast<double>(h.count);
    for (const auto& s : f->samples)
        if (matches(s.labels))
            sum += s.value;
    return sum;
}

namespace {
void append_escaped(std::string& out, std::string_view v, bool help) {
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && !help)
            out += "\\\"";
        else
            out += c;
    }
}
void append_number(std::string& out, double v) {
    if (v == std::numeric_limits<double>::infinity()) {
        out += "+Inf";
        return;
    }
    if (v == static_cast<double>(static_cast<std::int64_t>(v))) {
        out += std::to_string(static_cast<std::int64_t>(v));
        return;
    }
    // The shortest text that reads back as `v`, without an exponent where it fits (0.0005, as other
    // exporters write bucket bounds, not 0.000500 or 5e-04).
    char buffer[64];
    auto r = std::to_chars(buffer, buffer + sizeof(buffer), v, std::chars_format::fixed);
    if (r.ec != std::errc{})
        r = std::to_chars(buffer, buffer + sizeof(buffer), v);
    out.append(buffer, r.ptr);
}
/// `{k="v",...}`; `open` leaves the brace open (a histogram's `le` follows), with a comma when needed.
void append_labels(std::string& out, const std::map<std::string, std::string>& labels, bool open = false) {
    if (labels.empty() && !open)
        return;
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first)
            out += ',';
        first = false;
        out += k;
        out += "=\"";
        append_escaped(out, v, false);
        out += '"';
    }
    if (open) {
        if (!first)
            out += ',';
        return;
    }
    out += '}';
}
} // namespace

std::string to_prometheus(const metrics_snapshot& snapshot) {
    std::string out;
    out.reserve(8192);
    for (const auto& f : snapshot.families) {
        out += "# HELP ";
        out += f.name;
        out += ' ';
        append_escaped(out, f.help, true);
        out += "\n# TYPE ";
        out += f.name;
        out += ' ';
        out += f.type;
        out += '\n';
        for (const auto& s : f.samples) {
            out += f.name;
            append_labels(out, s.labels);
            out += ' ';
            append_number(out, s.value);
            out += '\n';
        }
        for (const auto& h : f.histograms) {
            for (std::size_t i = 0; i < h.bounds.size(); ++i) {
                out += f.name;
                out += "_bucket";
                append_labels(out, h.labels, true);
                out += "le=\"";
                append_number(out, h.bounds[i]);
                out += "\"} ";
                append_number(out, static_cast<double>(h.cumulative_counts[i]));
                out += '\n';
            }
            out += f.name;
            out += "_sum";
            append_labels(out, h.labels);
            out += ' ';
            append_number(out, h.sum);
            out += '\n';
            out += f.name;
            out += "_count";
            append_labels(out, h.labels);
            out += ' ';
            append_number(out, static_cast<double>(h.count));
            out += '\n';
        }
    }
    return out;
}

} // namespace sio
