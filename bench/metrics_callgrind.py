#!/usr/bin/env python3
"""What metrics cost, in instructions: the release sio_bench_server under `valgrind --tool=callgrind` (which
counts every instruction the server executes, on any machine, the same on every run) with metrics off and on,
one server process per run. Echo: the instructions of a fixed number of acked emits, divided by them.
Broadcast: the difference between two runs that differ only in their rounds, divided by the difference in
deliveries, so the connections' set-up cancels out (the marginal cost of one delivery).

  python3 bench/metrics_callgrind.py [--build-dir build/release]

Takes a few minutes (callgrind runs the server about 50 times slower). Needs valgrind (Debian's package)."""
import argparse, json, os, select, signal, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def instructions(server, loadgen, metrics, args, unit):
    """Instructions of one server process serving one loadgen run, and the loadgen's count of `unit`."""
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out.name, server, "--metrics",
               str(metrics), "--port", "0"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([p.stdout], [], [], 120)
        line = p.stdout.readline().split() if ready else []
        if len(line) != 4 or line[0] != "listening":
            p.kill()
            sys.exit(f"metrics_callgrind: the server did not start (got {line!r})")
        try:
            r = subprocess.run([loadgen] + args + ["--port", line[1], "--pid", line[3], "--timeout", "900"],
                               capture_output=True, text=True, check=True)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=300)
        total = None
        with open(out.name) as f:
            for l in f:
                if l.startswith(("summary:", "totals:")):
                    total = int(l.split()[1])
        return total, json.loads(r.stdout.strip().splitlines()[-1])[unit]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    a = ap.parse_args()
    server = os.path.join(a.build_dir, "bench", "sio_bench_server")
    loadgen = os.path.join(a.build_dir, "bench", "sio_loadgen")
    echo = ["echo", "--clients", "10", "--max", "20000", "--duration", "600"]
    per = {}
    for m in (0, 1):
        ir, ops = instructions(server, loadgen, m, echo, "ops")
        per[("echo", m)] = ir / ops
        runs = []
        for rounds in (5, 25):
            runs.append(instructions(server, loadgen, m, ["bcast", "--clients", "200", "--count", "50",
                                                          "--rounds", str(rounds)], "deliveries"))
        (i1, n1), (i2, n2) = runs
        per[("bcast", m)] = (i2 - i1) / (n2 - n1)
    for name, what in (("echo", "per acked emit"), ("bcast", "per delivery (marginal)")):
        off, on = per[(name, 0)], per[(name, 1)]
        print(f"{name:6} instructions {what}: metrics off {off:.1f}, on {on:.1f}, ratio {on / off:.3f}")


if __name__ == "__main__":
    main()
