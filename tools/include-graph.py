#!/usr/bin/env python3
"""The layer graph of sio, from the #include lines of include/ and src/ (docs/architecture.md).

Each file belongs to one layer (LAYERS below, first match wins). Prints, for each pair of layers, the
includes from one to the other, and marks an edge "UP" when a layer includes one higher in the stack
(later in LAYERS, as in the table of docs/architecture.md). `--mermaid` prints the graph as a Mermaid
flowchart. Exit status 1 with `--strict` when an edge goes up.

    python3 tools/include-graph.py [--mermaid] [--strict] [REPO]
"""
import pathlib
import re
import sys

# Lowest first. A layer may include the layers before it in this list.
LAYERS = [
    ("core", ["include/sio/config.hpp", "include/sio/error.hpp", "include/sio/options.hpp",
              "include/sio/log.hpp", "src/error.cpp", "src/log.", "src/options.cpp", "src/result_channel.hpp",
              # the metrics' counters and their snapshot: no I/O, included by the hooks of every layer
              "include/sio/metrics.hpp", "src/metrics/registry.", "src/metrics/snapshot."]),
    # utf8.* and beast_detail.hpp are sans-io helpers of the packet codec (UTF-8 checks, base64).
    ("engineio-protocol", ["include/sio/engineio/packet.hpp", "src/engineio/packet.cpp", "src/engineio/utf8.",
                           "src/engineio/beast_detail.hpp"]),
    ("socketio-protocol", ["include/sio/protocol/", "src/protocol/"]),
    ("engineio-server", ["include/sio/engineio/", "src/engineio/"]),
    ("socketio-api", ["include/sio/socket.hpp", "include/sio/namespace.hpp", "include/sio/broadcast.hpp",
                      "include/sio/broadcast_types.hpp", "include/sio/socket_sink.hpp",
                      "include/sio/adapter_host.hpp", "include/sio/value.hpp", "include/sio/observer.hpp",
                      "src/socketio/client.", "src/socketio/fanout_queue.",
                      "src/socketio/socket", "src/socketio/namespace", "src/socketio/value.",
                      "src/socketio/broadcast_operator.", "src/socketio/remote_socket.",
                      "src/socketio/access.hpp", "src/socketio/event_packet.hpp",
                      "src/socketio/reserved_events.hpp", "src/socketio/event_inbox.hpp",
                      "src/socketio/session_coroutine.", "src/socketio/protocol_v4."]),
    ("adapters", ["include/sio/adapter", "src/adapter/"]),
    # server.cpp, server_state.hpp, client_bundle.*
    ("facade", ["include/sio/server.hpp", "include/sio/sio.hpp", "src/socketio/", "src/metrics/server_metrics."]),
    # The Admin UI: on the public API of the layers below.
    ("admin", ["include/sio/admin.hpp", "src/admin/"]),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def layer_of(path: str):
    for name, prefixes in LAYERS:
        if any(path.startswith(p) for p in prefixes):
            return name
    return None


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    repo = pathlib.Path(args[0] if args else ".").resolve()
    files = sorted(p for d in ("include", "src") for p in (repo / d).rglob("*")
                   if p.suffix in (".hpp", ".cpp"))
    edges = {}  # (from layer, to layer) -> [(from file, to file)]
    for f in files:
        rel = f.relative_to(repo).as_posix()
        src_layer = layer_of(rel)
        if src_layer is None:
            continue
        for kind, target in INCLUDE.findall(f.read_text(encoding="utf-8")):
            if kind == "<":
                if not target.startswith("sio/"):
                    continue
                to = "include/" + target
            else:
                to = (f.parent / target).resolve().relative_to(repo).as_posix()
            dst_layer = layer_of(to)
            if dst_layer is None or dst_layer == src_layer:
                continue
            edges.setdefault((src_layer, dst_layer), []).append((rel, to))
    up = 0
    if "--mermaid" in sys.argv:
        print("flowchart BT")
        for (a, b), uses in sorted(edges.items(), key=lambda e: (RANK[e[0][0]], RANK[e[0][1]])):
            arrow = "-.->|UP|" if RANK[b] > RANK[a] else "-->"
            print(f"    {a.replace('-', '_')}[{a}] {arrow} {b.replace('-', '_')}[{b}]")
            up += RANK[b] > RANK[a]
    else:
        for (a, b), uses in sorted(edges.items(), key=lambda e: (RANK[e[0][0]], RANK[e[0][1]])):
            mark = "UP " if RANK[b] > RANK[a] else ""
            up += RANK[b] > RANK[a]
            print(f"{mark}{a} -> {b} ({len(uses)})")
            for f, t in uses:
                print(f"    {f} -> {t}")
    return 1 if up and "--strict" in sys.argv else 0


if __name__ == "__main__":
    sys.exit(main())
