#!/usr/bin/env python3
"""Soak run: starts sio_bench_server in soak mode (a broadcast `tick` every --tick-ms), runs `sio_loadgen soak`
against it and prints one table row per report: connected clients, the server's RSS and live heap, the
broadcasts received per second, errors, drops, the closes of the clients that never read (the overflow
policy's) and the reconnects. Called by bench/soak.sh (which builds the release preset first).

The clients that never read stop reading right after their handshake (a small receive buffer, a pong every
few seconds so that the heartbeat leaves them alone). The server accepts with a small SO_SNDBUF and a small
outgoing queue so that the overflow policy (`disconnect`) ends them within a minute or two; each one then
connects again, and stops reading again."""
import argparse, datetime, json, math, os, resource, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import start_server, stop_server  # noqa: E402

MIB = 1024 * 1024


def port_range():
    try:
        lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=19000)
    ap.add_argument("--minutes", type=int, default=30)
    ap.add_argument("--tick-ms", type=int, default=1000, help="the server broadcasts every this many ms")
    ap.add_argument("--tick-bytes", type=int, default=1024, help="length of the broadcast's string payload")
    ap.add_argument("--reconnect-pct", type=int, default=5, help="%% of the reading clients reconnecting per minute")
    ap.add_argument("--mute-pct", type=int, default=1, help="%% of the clients that never read")
    ap.add_argument("--max-queued-bytes", type=int, default=32768, help="the server's outgoing queue limit")
    ap.add_argument("--sndbuf", type=int, default=16384, help="SO_SNDBUF of the server's sockets (0: the system's)")
    ap.add_argument("--mute-rcvbuf", type=int, default=4096, help="SO_RCVBUF of the clients that never read")
    ap.add_argument("--sources", type=int, default=0, help="loopback source addresses (0: enough for the port range)")
    ap.add_argument("--report-s", type=int, default=60, help="seconds between rows")
    ap.add_argument("--build-dir", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                        "build", "release"))
    ap.add_argument("--out", default=None, help="raw results (JSON); default build/release/bench/soak-<date>.json")
    a = ap.parse_args()

    # Both processes hold one descriptor per client: check the hard limit (each raises its soft limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.clients + 64
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"soak: RLIMIT_NOFILE hard limit {hard} < {need} needed for {a.clients} clients")
    lo, hi = port_range()
    sources = a.sources or max(1, math.ceil(a.clients * 1.5 / (hi - lo + 1)))

    loadgen = os.path.join(a.build_dir, "bench", "sio_loadgen")
    server_cmd = [os.path.join(a.build_dir, "bench", "sio_bench_server"), "--tick-ms", str(a.tick_ms),
                  "--tick-bytes", str(a.tick_bytes), "--max-queued-bytes", str(a.max_queued_bytes)]
    if a.sndbuf > 0:
        server_cmd += ["--sndbuf", str(a.sndbuf)]
    proc, port, pid = start_server(server_cmd)
    cmd = [loadgen, "soak", "--port", str(port), "--pid", str(pid), "--label", "sio", "--clients", str(a.clients),
           "--minutes", str(a.minutes), "--tick-ms", str(a.tick_ms), "--tick-bytes", str(a.tick_bytes),
           "--reconnect-pct", str(a.reconnect_pct), "--mute-pct", str(a.mute_pct), "--sources", str(sources),
           "--mute-rcvbuf", str(a.mute_rcvbuf), "--report-s", str(a.report_s)]
    print(f"soak: {a.clients} clients ({a.mute_pct}% never reading, {a.reconnect_pct}%/min of the others "
          f"reconnecting), {a.minutes} min, a {a.tick_bytes}-byte broadcast every {a.tick_ms} ms; server: "
          f"{' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(server_cmd))}; "
          f"{sources} source address(es), ports {lo}-{hi}", flush=True)
    print("+ " + " ".join(cmd), flush=True)
    header = (f"{'minute':>6} {'clients':>8} {'sockets':>8} {'RSS MiB':>8} {'heap MiB':>9} {'recv/s':>8} "
              f"{'expected':>8} {'errors':>6} {'drops':>6} {'overflow':>8} {'reconn':>7}")
    print(header + "\n" + "-" * len(header), flush=True)

    t_start = time.time()
    rows, summary = [], None
    lg = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    for line in lg.stdout:
        try:
            r = json.loads(line)
        except ValueError:
            print(line, end="", file=sys.stderr)
            continue
        if "row" not in r:
            summary = r
            continue
        rows.append(r)
        s = r["server"]
        print(f"{r['row']:>6.1f} {r['connected']:>8} {s['sockets']:>8} {s['rss'] / MIB:>8.1f} {s['heap'] / MIB:>9.1f} "
              f"{r['deliveries_per_s']:>8.0f} {r['expected_per_s']:>8.0f} {r['errors']:>6} {r['drops']:>6} "
              f"{r['mute_closes']:>8} {r['reconnects']:>7}", flush=True)
    rc = lg.wait()
    alive = proc.poll() is None
    stop_server(proc)
    elapsed = time.time() - t_start

    problems = []
    if rc != 0:
        problems.append(f"sio_loadgen exited with {rc}")
    if not alive:
        problems.append("the server died during the run")
    if rows:
        last = rows[-1]
        reasons = dict(last["server"]["disconnects"])
        # Expected: "transport close" (reconnects: the client closes) and "transport error" (the overflow
        # policy closes a client that never reads; the client notices it a few seconds later).
        unexpected = {k: v for k, v in reasons.items() if k not in ("transport close", "transport error")}
        if unexpected:
            problems.append(f"unexpected server-side disconnects: {unexpected}")
        overflow_server = reasons.get("transport error", 0)
        slack = max(1, a.clients * a.mute_pct // 100)
        if not last["mute_closes"] <= overflow_server <= last["mute_closes"] + slack:
            problems.append(f"server-side 'transport error' closes ({overflow_server}) do not match the overflow "
                            f"closes seen by the clients ({last['mute_closes']})")
        print(f"\nserver disconnects by reason: {reasons}")
        base = next((r for r in rows if r["row"] >= 0.99), rows[0])
        for key, label in (("rss", "RSS"), ("heap", "live heap")):
            b, e = base["server"][key], last["server"][key]
            print(f"{label}: {b / MIB:.1f} MiB at minute {base['row']:.0f}, {e / MIB:.1f} MiB at minute "
                  f"{last['row']:.0f} ({(e - b) / MIB:+.1f} MiB, {100.0 * (e - b) / b:+.1f}%)")
    else:
        problems.append("no report from sio_loadgen")
    if summary:
        print(f"connects {summary['connects']} (initial connect of all clients: {summary['connect_s']:.1f} s), "
              f"reconnects {summary['reconnects']}, overflow closes {summary['mute_closes']}, "
              f"ticks received {summary['deliveries']}, errors {summary['errors']}, drops {summary['drops']}")
    stamp = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    out = a.out or os.path.join(a.build_dir, "bench", f"soak-{stamp}.json")
    with open(out, "w") as f:
        json.dump({"date": stamp, "args": vars(a), "sources": sources, "server_cmd": server_cmd, "loadgen_cmd": cmd,
                   "elapsed_s": elapsed, "rows": rows, "summary": summary, "problems": problems}, f, indent=1)
    print(f"raw results: {out} ({elapsed:.0f} s)")
    if problems:
        for p in problems:
            print("soak: FAILED: " + p, file=sys.stderr)
        sys.exit(1)
    print("soak: OK (no error, no drop; every close of a client is a reconnect or the overflow policy's)")


if __name__ == "__main__":
    main()
