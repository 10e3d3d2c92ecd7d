#!/usr/bin/env python3
"""Benchmark runs that start their own servers (bench/run.py calls run_own for them):
  - `--parser msgpack` in the load generator's arguments: one server started with `--parser msgpack`;
  - `--adapter A` (redis, sharded, streams), scenario cross-bcast: a throwaway redis-server on a free loopback
    port, two servers of the same kind on adapter A (same parser), sio_loadgen between them (clients on the
    first, the trigger on the second), then everything is stopped.
As a script, the smoke test of these runs (CTest, label bench), tiny sizes, no timing assertion:
  own_servers.py LOADGEN LABEL SERVER_COMMAND...   (exits 77, skipped, when Node or redis-server is missing)"""
import os, shutil, signal, socket, subprocess, sys, time


def start_server(cmd):  # bench/run.py's (imported here: run.py imports this module)
    import run
    return run.start_server(cmd)


def stop_server(p):
    import run
    run.stop_server(p)


def own_servers(args):
    """The server arguments a run needs (None: the shared server of its label will do)."""
    extra = []
    for key in ("--parser", "--adapter"):
        if key in args:
            extra += [key, args[args.index(key) + 1]]
    return extra or None


def redis_binary():
    return shutil.which("redis-server") or ("/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None)


def start_redis(timeout=10):
    """A redis-server on a free loopback port, no persistence: (process, port)."""
    binary = redis_binary()
    if not binary:
        raise RuntimeError("redis-server not found (apt-get install redis-server)")
    for _ in range(3):
        with socket.socket() as s:  # a free port (another process may take it meanwhile: then try again)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until = time.time() + timeout
        while time.time() < until and p.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return p, port
            except OSError:
                time.sleep(0.05)
        stop_redis(p)
    raise RuntimeError("redis-server did not answer PING")


def stop_redis(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_own(loadgen, server_cmd, args, label, timeout=180):
    """Runs `sio_loadgen args` against servers started for it: a subprocess.CompletedProcess."""
    extra = own_servers(args)
    tail = ["--label", label, "--timeout", str(timeout)]
    if "--adapter" not in args:
        proc, port, pid = start_server(server_cmd + extra)
        try:
            return subprocess.run([loadgen] + args + ["--port", str(port), "--pid", str(pid)] + tail,
                                  capture_output=True, text=True)
        finally:
            stop_server(proc)
    redis, redis_port = start_redis()
    started = []
    try:
        for _ in range(2):
            started.append(start_server(server_cmd + extra + ["--redis-port", str(redis_port)]))
        (_, port_a, pid_a), (_, port_b, pid_b) = started
        return subprocess.run([loadgen] + args + ["--port", str(port_a), "--pid", str(pid_a), "--port2", str(port_b),
                                                  "--pid2", str(pid_b), "--redis-pid", str(redis.pid)] + tail,
                              capture_output=True, text=True)
    finally:
        for proc, _, _ in started:
            stop_server(proc)
        stop_redis(redis)


SMOKE = [
    ["echo", "--clients", "4", "--duration", "1", "--parser", "msgpack"],
    ["bcast", "--clients", "20", "--count", "10", "--rounds", "2", "--parser", "msgpack"],
    ["room-bcast", "--clients", "20", "--count", "5", "--rounds", "2", "--parser", "msgpack"],
    ["cross-bcast", "--clients", "10", "--count", "5", "--rounds", "3", "--adapter", "redis"],
    ["cross-bcast", "--clients", "10", "--count", "5", "--rounds", "3", "--adapter", "sharded"],
    ["cross-bcast", "--clients", "10", "--count", "5", "--rounds", "3", "--adapter", "streams"],
    ["cross-bcast", "--clients", "10", "--count", "2", "--rounds", "2", "--adapter", "redis", "--parser", "msgpack"],
]


def smoke(argv):
    if len(argv) < 3:
        sys.exit("usage: own_servers.py LOADGEN LABEL SERVER_COMMAND...")
    loadgen, label, server_cmd = argv[0], argv[1], argv[2:]
    if label == "node":
        if not shutil.which(server_cmd[0]):
            print("SKIPPED: node not found (install Node.js >= 20)")
            sys.exit(77)
        for pkg in ("socket.io-msgpack-parser", "@socket.io/redis-adapter", "@socket.io/redis-streams-adapter"):
            if not os.path.isdir(os.path.join(os.path.dirname(server_cmd[1]), "node_modules", pkg)):
                print(f"SKIPPED: {pkg} missing in bench/node/node_modules (run tools/deps.sh --bench)")
                sys.exit(77)
    skipped = None
    for args in SMOKE:
        if "--adapter" in args and not redis_binary():
            skipped = "redis-server not found: the cross-server runs did not run"
            continue
        print("+ sio_loadgen " + " ".join(args), flush=True)
        r = run_own(loadgen, server_cmd, args, label, timeout=30)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            print(f"FAILED: {r.stderr.strip()}")
            sys.exit(1)
    if skipped:
        print(f"SKIPPED: {skipped}")
        sys.exit(77)
    print(f"OK: {label}")


if __name__ == "__main__":
    smoke(sys.argv[1:])
