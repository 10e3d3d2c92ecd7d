#!/usr/bin/env python3
"""What metrics cost: the release sio_bench_server run under `perf stat -e instructions:u,task-clock` (every
thread; instructions in user space only) with metrics off and on, one server process per workload run,
alternating the order pair by pair. The work is fixed: a broadcast run delivers the same packets each time;
an echo run is divided by its acked emits. Instructions are the steady measure; where the machine has no
hardware counters (a VM without a virtual PMU: perf says "<not supported>"), the server's CPU time
(task-clock, in nanoseconds rather than /proc's 10 ms ticks) is the one left.

  python3 bench/metrics_cost.py [--build-dir build/release] [--pairs 5] [--out FILE]

Prints, per workload and measure, the median per delivery (or per acked emit) off and on and their ratio;
writes the raw runs as JSON with --out. Needs `perf` (Debian's linux-perf) and perf_event_paranoid <= 2."""
import argparse, json, os, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import ROOT, start_server  # noqa: E402

EVENTS = ["instructions:u", "task-clock"]  # task-clock: CPU milliseconds
WORKLOADS = [
    # (name, loadgen arguments, the result field that counts the work)
    ("bcast 1000 x 100, 30 rounds", ["bcast", "--clients", "1000", "--count", "100", "--rounds", "30"], "deliveries"),
    ("echo 100 clients, 5 s", ["echo", "--clients", "100", "--duration", "5"], "ops"),
]


def measure(server, loadgen, args, metrics_on):
    """One server process under perf for one loadgen run: ({event: count or None}, the loadgen's result)."""
    with tempfile.NamedTemporaryFile("r", suffix=".perf") as out:
        cmd = ["perf", "stat", "-x,", "-e", ",".join(EVENTS), "-o", out.name, "--", server,
               "--metrics", "1" if metrics_on else "0"]
        proc, port, pid = start_server(cmd)
        try:
            r = subprocess.run([loadgen] + args + ["--port", str(port), "--pid", str(pid), "--timeout", "180"],
                               capture_output=True, text=True, check=True)
        finally:
            os.kill(pid, 15)  # the server (perf then writes its counts and exits)
            proc.wait(timeout=30)
        result = json.loads(r.stdout.strip().splitlines()[-1])
        counts = {}
        for line in out.read().splitlines():
            fields = line.split(",")
            for event in EVENTS:
                if len(fields) > 2 and fields[2].startswith(event):
                    try:
                        counts[event] = float(fields[0])
                    except ValueError:  # "<not supported>"
                        counts[event] = None
        return counts, result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    server = os.path.join(a.build_dir, "bench", "sio_bench_server")
    loadgen = os.path.join(a.build_dir, "bench", "sio_loadgen")
    runs = []
    for name, args, unit in WORKLOADS:
        per_unit = {(e, on): [] for e in EVENTS for on in (False, True)}
        for pair in range(a.pairs):
            for on in ((False, True) if pair % 2 == 0 else (True, False)):
                counts, result = measure(server, loadgen, args, on)
                run = {"workload": name, "metrics": on, unit: result[unit], "server_cpu_s": result.get("server_cpu_s")}
                for e in EVENTS:
                    run[e] = counts.get(e)
                    if counts.get(e) is not None:
                        per_unit[(e, on)].append(counts[e] / result[unit])
                runs.append(run)
                print(f"{name}: metrics {'on ' if on else 'off'} {counts}, {unit} {result[unit]}", file=sys.stderr,
                      flush=True)
        for e in EVENTS:
            off, on = per_unit[(e, False)], per_unit[(e, True)]
            if not off or not on:
                print(f"{name}: {e} not measured (not supported here)")
                continue
            scale, what = (1e6, "ns") if e == "task-clock" else (1, "")
            mo, mn = statistics.median(off), statistics.median(on)
            print(f"{name}: {e} per {unit}: off {mo * scale:.1f}{what} ({min(off) * scale:.1f}-{max(off) * scale:.1f}), "
                  f"on {mn * scale:.1f}{what} ({min(on) * scale:.1f}-{max(on) * scale:.1f}); on/off {mn / mo:.4f}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
