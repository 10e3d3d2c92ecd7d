#!/usr/bin/env python3
"""Condenses `perf report` output: template arguments collapsed, kernel/user split, top self and top
inclusive (children) symbols. Usage: perf_summary.py PERF_DATA [N]"""
import re, subprocess, sys


def collapse(sym):
    out, depth = [], 0
    for ch in sym:
        if ch == "<":
            if depth == 0:
                out.append("<>")
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    s = "".join(out)
    s = re.sub(r"\(anonymous namespace\)::", "", s)
    return s[:150]


def report(data, children):
    args = ["perf", "report", "-i", data, "--stdio", "-g", "none", "--sort", "symbol",
            "--children" if children else "--no-children"]
    text = subprocess.run(args, capture_output=True, text=True).stdout
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(?:([\d.]+)%\s+)?\[(.)\]\s+(.*)", line.rstrip())
        if m:
            pct = float(m.group(1))
            rows.append((pct, m.group(3), collapse(m.group(4).rstrip(" -"))))
    return rows


CATEGORIES = [  # first match wins (self time of user-space symbols)
    ("sio (src/)", r"^sio::"),
    ("Boost.JSON", r"^boost::json::"),
    ("Beast WebSocket/HTTP + stream ops", r"^boost::beast::|boost::mp11"),
    ("Asio coroutine machinery (awaitable, co_spawn)", r"awaitable|co_spawn|coro"),
    ("Asio executors, strands, scheduler, handler allocation",
     r"executor|strand|scheduler|thread_info_base|thread_context|call_stack|handler_work|executor_op|reactor|reactive_|socket_ops|write_op|read_op|initiate|async_result|timer|wait_op"),
    ("malloc/free", r"malloc|_int_free|cfree|unlink_chunk|operator new|operator delete|^free$|tcache"),
    ("shared_ptr/atomics", r"_Sp_counted|__shared_count|shared_ptr|weak_ptr"),
    ("libc syscall wrappers, mutex", r"__libc_|pthread_|epoll_wait|^__GI"),
    ("std:: containers, strings", r"^std::|memmove|memcpy|memset|strlen|__memcmp"),
]


def categories(merged):
    cats = {"kernel": 0.0}
    for (kind, sym), pct in merged.items():
        if kind == "k":
            cats["kernel"] += pct
            continue
        for name, rx in CATEGORIES:
            if re.search(rx, sym):
                cats[name] = cats.get(name, 0) + pct
                break
        else:
            cats["other user space"] = cats.get("other user space", 0) + pct
    return cats


def main():
    data = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    rows = report(data, False)
    merged = {}
    for pct, kind, sym in rows:
        merged[(kind, sym)] = merged.get((kind, sym), 0) + pct
    kernel = sum(p for (k, _), p in merged.items() if k == "k")
    print(f"samples in the kernel: {kernel:.1f}%, in user space: {100 - kernel:.1f}%")
    print("-- self time by category --")
    for name, pct in sorted(categories(merged).items(), key=lambda x: -x[1]):
        print(f"{pct:6.2f}% {name}")
    print(f"-- self (top {n}, template arguments collapsed) --")
    for (kind, sym), pct in sorted(merged.items(), key=lambda x: -x[1])[:n]:
        print(f"{pct:6.2f}% [{kind}] {sym}")
    rows = report(data, True)
    if not any(kind == "." and pct < 99 and pct > 20 for pct, kind, _ in rows):
        return  # no call chains recorded
    print(f"-- inclusive, user-space symbols of sio and Beast/Asio (top {n}) --")
    seen = set()
    shown = 0
    for pct, kind, sym in rows:
        if kind != "." or sym in seen:
            continue
        seen.add(sym)
        print(f"{pct:6.2f}% {sym}")
        shown += 1
        if shown >= n:
            break


if __name__ == "__main__":
    main()
