#!/usr/bin/env python3
"""Runs the benchmark matrix against sio_bench_server and the Node peer, alternating, several repetitions;
prints the median of every metric per server and the ratio sio/Node; writes the raw results as JSON.
Called by bench/run.sh (which builds the release preset first)."""
import argparse, datetime, json, os, platform, select, signal, statistics, subprocess, sys, time

import own_servers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, loadgen arguments, metrics shown: (key, label, lower is better), target: (key, kind, bound))
FULL = [
    ("conn 10000", ["conn", "--n", "10000"], None),
    ("echo 10 clients", ["echo", "--clients", "10", "--duration", "5"], None),
    ("echo 100 clients", ["echo", "--clients", "100", "--duration", "5"], None),
    ("bcast 1000 x 100", ["bcast", "--clients", "1000", "--count", "100", "--rounds", "2"], None),
    ("bcast 10000 x 10", ["bcast", "--clients", "10000", "--count", "10", "--rounds", "1"], None),
    ("bcast 1000 x 1 (x100)", ["bcast", "--clients", "1000", "--count", "1", "--rounds", "100"], None),
    ("room-bcast 1000 (500) x 100", ["room-bcast", "--clients", "1000", "--count", "100"], None),
    ("churn 8 parallel", ["churn", "--parallel", "8", "--duration", "5"], None),
    ("echo during bcast 1000 x 100", ["bcast", "--clients", "1000", "--count", "100", "--rounds", "5", "--echo", "1"], None),
    ("echo during bcast 10000 x 10", ["bcast", "--clients", "10000", "--count", "10", "--rounds", "2", "--echo", "1"], None),
    ("echo during 5000 connects", ["echo-conn", "--n", "5000", "--echo-thread", "1"], None),
    # Polling-only clients (HTTP long-polling for the whole session, never upgraded).
    ("poll-echo 10 clients", ["poll-echo", "--clients", "10", "--duration", "5"], None),
    ("poll-echo 100 clients", ["poll-echo", "--clients", "100", "--duration", "5"], None),
    ("poll-bcast 1000 x 10 (x20)", ["poll-bcast", "--clients", "1000", "--count", "10", "--rounds", "20"], None),
    # Runs with their own servers (bench/own_servers.py), sio and Node only: the msgpack parser on both ends;
    # a broadcast crossing a cluster of two servers on one Redis (clients on one, the trigger on the other).
    ("echo 100 clients msgpack", ["echo", "--clients", "100", "--duration", "5", "--parser", "msgpack"], None),
    ("bcast 1000 x 100 msgpack", ["bcast", "--clients", "1000", "--count", "100", "--rounds", "2", "--parser", "msgpack"], None),
    ("bcast 1000 x 1 (x100) msgpack", ["bcast", "--clients", "1000", "--count", "1", "--rounds", "100", "--parser", "msgpack"], None),
] + [(f"cross {a} 1000 x 10 (x30)", ["cross-bcast", "--clients", "1000", "--count", "10", "--rounds", "30", "--adapter", a], None)
     for a in ("redis", "sharded", "streams")] + [
    (f"cross {a} 100 x 1 (x1000)", ["cross-bcast", "--clients", "100", "--count", "1", "--rounds", "1000", "--adapter", a], None)
    for a in ("redis", "sharded", "streams")]
QUICK = [
    ("conn 2000", ["conn", "--n", "2000"], None),
    ("echo 10 clients", ["echo", "--clients", "10", "--duration", "2"], None),
    ("echo 100 clients", ["echo", "--clients", "100", "--duration", "2"], None),
    ("bcast 200 x 100", ["bcast", "--clients", "200", "--count", "100"], None),
    ("bcast 2000 x 10", ["bcast", "--clients", "2000", "--count", "10"], None),
    ("bcast 200 x 1 (x100)", ["bcast", "--clients", "200", "--count", "1", "--rounds", "100"], None),
    ("room-bcast 200 (100) x 50", ["room-bcast", "--clients", "200", "--count", "50"], None),
    ("churn 8 parallel", ["churn", "--parallel", "8", "--duration", "2"], None),
    ("echo during bcast 200 x 100", ["bcast", "--clients", "200", "--count", "100", "--rounds", "3", "--echo", "1"], None),
    ("echo during 1000 connects", ["echo-conn", "--n", "1000", "--echo-thread", "1"], None),
    ("poll-echo 10 clients", ["poll-echo", "--clients", "10", "--duration", "2"], None),
    ("poll-bcast 200 x 10 (x10)", ["poll-bcast", "--clients", "200", "--count", "10", "--rounds", "10"], None),
    ("echo 10 clients msgpack", ["echo", "--clients", "10", "--duration", "2", "--parser", "msgpack"], None),
    ("bcast 200 x 100 msgpack", ["bcast", "--clients", "200", "--count", "100", "--parser", "msgpack"], None),
] + [(f"cross {a} 200 x 10 (x5)", ["cross-bcast", "--clients", "200", "--count", "10", "--rounds", "5", "--adapter", a], None)
     for a in ("redis", "sharded", "streams")]
METRICS = {
    "conn": ["bytes_per_conn", "cpu_us_per_connect", "connects_per_s"],
    "echo": ["cpu_s_per_100k", "ops_per_s", "p50_us", "p99_us", "p999_us"],
    "bcast": ["cpu_us_per_1k", "deliveries_per_s", "first_delivery_us"],
    "room-bcast": ["cpu_us_per_1k", "deliveries_per_s", "first_delivery_us"],
    "churn": ["cpu_us_per_handshake", "handshakes_per_s", "p50_us", "p99_us"],
    "echo-conn": ["echo_p50_us", "echo_p99_us", "echo_max_us", "connects_per_s", "cpu_us_per_connect"],
    "poll-conn": ["bytes_per_session", "cpu_us_per_connect", "connects_per_s"],
    "poll-echo": ["cpu_s_per_100k", "ops_per_s", "p50_us", "p99_us"],
    "poll-bcast": ["cpu_us_per_1k", "deliveries_per_s", "first_delivery_us"],
    "cross-bcast": ["cpu_us_per_1k", "redis_us_per_1k", "deliveries_per_s", "first_p50_us", "first_p99_us",
                    "last_p50_us", "last_p99_us"],
}


def metrics_of(args):
    """The metrics a run reports: its scenario's, plus the echo's when an echo client runs beside it."""
    keys = list(METRICS[args[0]])
    if "--echo" in args:
        keys += ["echo_p50_us", "echo_p99_us", "echo_max_us"]
    return keys
# The targets set when the benchmark was first written (full matrix): (run name, metric, "ratio" <= bound | "abs" <= bound)
TARGETS = [
    ("bcast 1000 x 100", "cpu_us_per_1k", "ratio", 1 / 10),
    ("bcast 10000 x 10", "cpu_us_per_1k", "ratio", 1 / 8),
    ("bcast 1000 x 1 (x100)", "cpu_us_per_1k", "ratio", 3 / 4),
    ("echo 10 clients", "cpu_s_per_100k", "ratio", 1 / 3),
    ("echo 100 clients", "cpu_s_per_100k", "ratio", 1 / 3),
    ("echo 10 clients", "p99_us", "ratio", 1.0),
    ("echo 100 clients", "p99_us", "ratio", 1.0),
    ("conn 10000", "bytes_per_conn", "abs", 3072),
    ("churn 8 parallel", "cpu_us_per_handshake", "ratio", 1 / 5),
    # Round two (big broadcasts without a stall).
    ("bcast 1000 x 100", "first_delivery_us", "ratio", 1.0),
    ("bcast 10000 x 10", "first_delivery_us", "ratio", 2.0),
    ("echo during bcast 1000 x 100", "echo_p99_us", "ratio", 1.0),
    ("echo during bcast 10000 x 10", "echo_p99_us", "ratio", 1.0),
    ("echo during 5000 connects", "echo_p99_us", "ratio", 1.0),
    # Round two (polling measured).
    ("poll-echo 10 clients", "cpu_s_per_100k", "ratio", 1 / 3),
    ("poll-echo 100 clients", "cpu_s_per_100k", "ratio", 1 / 3),
    ("poll-bcast 1000 x 10 (x20)", "cpu_us_per_1k", "ratio", 1 / 3),
]


def start_server(cmd, timeout=20):
    p = subprocess.Popen(cmd + ["--port", "0"], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    line = p.stdout.readline().strip() if ready else ""
    parts = line.split()
    if len(parts) != 4 or parts[0] != "listening" or parts[2] != "pid":
        p.kill()
        sys.exit(f"bench: {' '.join(cmd)} did not print 'listening <port> pid <pid>' (got {line!r})")
    return p, int(parts[1]), int(parts[3])


def stop_server(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        print("bench: warning: the server ignored SIGTERM for 15 s (killed)", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default=None, help="run only the runs whose name contains this text")
    ap.add_argument("--metrics", action="store_true",
                    help="also run sio_bench_server --metrics 1 (metrics on), column 'metrics'")
    ap.add_argument("--no-node", action="store_true", help="do not run the Node server")
    ap.add_argument("--session", action="store_true",
                    help="also run sio_bench_server --session 1 (echo as a session coroutine), column 'session'")
    ap.add_argument("--server", default=None,
                    help="the sio server binary to measure (default: the build dir's); for A/B runs of two builds")
    ap.add_argument("--threads", type=int, default=1, help="sio_bench_server --threads N (one io_context on N threads)")
    ap.add_argument("--recovery", action="store_true",
                    help="also run sio_bench_server --recovery 1 (connection state recovery on), column 'recovery'")
    a = ap.parse_args()
    reps = a.reps or (2 if a.quick else 3)
    matrix = QUICK if a.quick else FULL
    if a.only:
        matrix = [m for m in matrix if a.only in m[0]]
    loadgen = os.path.join(a.build_dir, "bench", "sio_loadgen")
    servers = {"sio": [a.server or os.path.join(a.build_dir, "bench", "sio_bench_server")]}
    if a.threads > 1:
        servers["sio"] += ["--threads", str(a.threads)]
    if a.session:
        servers["session"] = servers["sio"] + ["--session", "1"]
    if a.metrics:
        servers["metrics"] = servers["sio"] + ["--metrics", "1"]
    if a.recovery:
        servers["recovery"] = servers["sio"] + ["--recovery", "1"]
    node_dir = os.path.join(ROOT, "bench", "node")
    node = subprocess.run(["sh", "-c", "command -v node"], capture_output=True, text=True).stdout.strip()
    if a.no_node:
        pass
    elif node and os.path.isdir(os.path.join(node_dir, "node_modules", "socket.io")):
        servers["node"] = [node, os.path.join(node_dir, "server.mjs")]
    else:
        print("bench: node or bench/node/node_modules missing (tools/deps.sh --bench): sio only", file=sys.stderr)
    runs, failures = [], []
    t_start = time.time()
    for rep in range(reps):
        order = list(servers) if rep % 2 == 0 else list(reversed(servers))
        for label in order:
            proc, port, pid = start_server(servers[label])
            for name, args, _ in matrix:
                cmd = [loadgen] + args + ["--port", str(port), "--pid", str(pid), "--label", label, "--timeout", "180"]
                if label == "recovery" and args[0] in ("bcast", "room-bcast"):
                    cmd += ["--offsets", "1"]  # each msg carries its offset
                if own_servers.own_servers(args):  # another parser, or a cluster: servers of its own
                    if label not in ("sio", "node"):
                        continue
                    r = own_servers.run_own(loadgen, servers[label], args, label)
                else:
                    r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    msg = f"rep {rep + 1} {label} {name}: {r.stderr.strip()}"
                    print("bench: FAILED " + msg, file=sys.stderr)
                    failures.append(msg)
                    if proc.poll() is not None:
                        break
                    continue
                res = json.loads(r.stdout.strip().splitlines()[-1])
                res.update(run=name, rep=rep + 1)
                runs.append(res)
                print(f"  rep {rep + 1} {label:4} {name:28} " +
                      " ".join(f"{k}={res[k]:.4g}" for k in metrics_of(args)), file=sys.stderr, flush=True)
            stop_server(proc)
    elapsed = time.time() - t_start

    # Medians per (run, server, metric).
    summary = []
    for name, args, _ in matrix:
        for key in metrics_of(args):
            row = {"run": name, "metric": key}
            for label in servers:
                vals = [r[key] for r in runs if r["run"] == name and r["server"] == label]
                row[label] = statistics.median(vals) if vals else None
            if row.get("sio") is not None and row.get("node"):
                row["ratio"] = row["sio"] / row["node"]
            if row.get("session") is not None and row.get("sio"):
                row["session_ratio"] = row["session"] / row["sio"]
            if row.get("metrics") is not None and row.get("sio"):
                row["metrics_ratio"] = row["metrics"] / row["sio"]
            if row.get("recovery") is not None and row.get("sio"):
                row["recovery_ratio"] = row["recovery"] / row["sio"]
            summary.append(row)
    targets = []
    if not a.quick:
        for name, key, kind, bound in TARGETS:
            row = next((s for s in summary if s["run"] == name and s["metric"] == key), None)
            if not row:
                continue
            value = row.get("ratio") if kind == "ratio" else row.get("sio")
            targets.append({"run": name, "metric": key, "kind": kind, "bound": bound, "value": value,
                            "met": value is not None and value <= bound})

    def fmt(v):
        return "-" if v is None else f"{v:.4g}"
    extra = f" {'session':>11} {'sess/sio':>9}" if a.session else ""
    extra += f" {'metrics':>11} {'met/sio':>9}" if a.metrics else ""
    print(f"\n{'run':30} {'metric':22} {'sio':>11} {'node':>11} {'sio/node':>9}{extra}")
    for s in summary:
        more = f" {fmt(s.get('session')):>11} {fmt(s.get('session_ratio')):>9}" if a.session else ""
        more += f" {fmt(s.get('metrics')):>11} {fmt(s.get('metrics_ratio')):>9}" if a.metrics else ""
    extra += f" {'recovery':>11} {'rec/sio':>9}" if a.recovery else ""
    print(f"\n{'run':30} {'metric':22} {'sio':>11} {'node':>11} {'sio/node':>9}{extra}")
    for s in summary:
        more = f" {fmt(s.get('session')):>11} {fmt(s.get('session_ratio')):>9}" if a.session else ""
        more += f" {fmt(s.get('recovery')):>11} {fmt(s.get('recovery_ratio')):>9}" if a.recovery else ""
        print(f"{s['run']:30} {s['metric']:22} {fmt(s.get('sio')):>11} {fmt(s.get('node')):>11} {fmt(s.get('ratio')):>9}{more}")
    if targets:
        print("\ntargets (set with the first benchmark round):")
        for t in targets:
            what = "sio/node" if t["kind"] == "ratio" else "sio"
            print(f"  {'MET   ' if t['met'] else 'MISSED'} {t['run']:30} {t['metric']:22} {what} = {fmt(t['value'])} "
                  f"(target <= {t['bound']:.4g})")
    stamp = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    out = a.out or os.path.join(a.build_dir, "bench", f"results-{stamp}{'-quick' if a.quick else ''}.json")
    with open(out, "w") as f:
        json.dump({"date": stamp, "quick": a.quick, "reps": reps, "elapsed_s": elapsed,
                   "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                               "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                            if l.startswith("model name")), "?"),
                               "node": subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else None},
                   "runs": runs, "summary": summary, "targets": targets, "failures": failures}, f, indent=1)
    print(f"\nraw results: {out} ({elapsed:.0f} s)")
    if failures:
        print(f"bench: {len(failures)} run(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
