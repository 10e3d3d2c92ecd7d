#!/usr/bin/python3
"""python-socketio (Debian's python3-socketio 5.x: Socket.IO v5 over Engine.IO v4) against sio_test_server.

Usage: /usr/bin/python3 client_test.py  (the server binary in $SIO_SERVER)

For each transport set (websocket only, polling only, polling upgraded to websocket) two clients connect to
"/" and check: the "welcome" event, an ack from the server with the emitted values (text, numbers, objects,
bytes), a server-side emit_with_ack answered by a Python handler, a broadcast triggered by the other client
(and not echoed to its sender), a clean disconnect that the server sees (fetch_sockets). Then a custom
namespace and a connection refused by the server's middleware.

Exit 0 when every check passed, 1 when one failed, 77 (skipped) when python-socketio or its transports
(python3-requests, python3-websocket) are missing. Every wait is bounded; a watchdog ends a hung run.
"""

import importlib.metadata
import os
import queue
import signal
import subprocess
import sys
import threading
import time

try:
    import socketio  # noqa: F401
    import requests  # noqa: F401  (the polling transport of the sync client)
    import websocket  # noqa: F401  (the websocket transport of the sync client)
except ImportError as exc:  # pragma: no cover
    print(f"skipped: {exc} (apt-get install python3-socketio python3-requests python3-websocket)")
    sys.exit(77)

WAIT = 5.0  # seconds, bound of every single wait
WATCHDOG = 90.0  # seconds, bound of the whole run

passed = 0
failed = 0


def check(condition, what):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok - {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL - {what}", flush=True)
    return condition


class Server:
    """sio_test_server on a free port: prints "listening <port>", stops on SIGTERM."""

    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--port", "0"], stdout=subprocess.PIPE, text=True)
        lines = queue.Queue()

        def read():
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        try:
            line = lines.get(timeout=10)
        except queue.Empty:
            line = None
        if not line or not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"server did not print its port: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self):
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=3)
            return None


class Client:
    """A python-socketio client whose received events land in a queue."""

    def __init__(self, namespace="/"):
        self.sio = socketio.Client(reconnection=False, request_timeout=WAIT)
        self.events = queue.Queue()
        self.connect_errors = queue.Queue()
        self.disconnected = threading.Event()
        self.sio.on("*", self._any, namespace=namespace)
        self.sio.on("connect_error", lambda data: self.connect_errors.put(data), namespace=namespace)
        self.sio.on("disconnect", lambda: self.disconnected.set(), namespace=namespace)
        # The server asks through "ask": the return value of the handler is the acknowledgement.
        self.sio.on("question", lambda *args: ["answer", *args], namespace=namespace)

    def _any(self, event, *args):
        self.events.put((event, args))

    def connect(self, url, transports, namespaces=None, auth=None):
        self.sio.connect(url, transports=transports, namespaces=namespaces, auth=auth, wait_timeout=WAIT)

    def next_event(self, name):
        """The next received event called `name` (others are skipped), or None after WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                event, args = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if event == name:
                return args

    def drain(self):
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out


def connected_ids(observer, namespace="/"):
    """The socket ids the server has in `namespace`, asked through the "util" fetch operation."""
    reply = observer.sio.call("util", {"op": "fetch"}, namespace=namespace, timeout=WAIT)
    return {s["id"] for s in reply["sockets"]}


def scenario(url, label, transports, expected_transport):
    a, b = Client(), Client()
    try:
        a.connect(url, transports)
        b.connect(url, transports)
        check(a.sio.connected and b.sio.connected, f"{label}: both clients connected")
        welcome = a.next_event("welcome")
        check(welcome is not None and welcome[0]["nsp"] == "/" and welcome[0]["id"] == a.sio.get_sid("/"),
              f"{label}: welcome carries the socket id and namespace")
        check(b.next_event("welcome") is not None, f"{label}: second client welcomed")

        # Client -> server emit with an ack: the server acknowledges with the same arguments.
        answer = a.sio.call("ack", ("hello", 42, {"list": [1, 2.5, None, True], "text": "é✓"}), timeout=WAIT)
        # Several acknowledgement arguments come back as a tuple.
        check(answer == ("hello", 42, {"list": [1, 2.5, None, True], "text": "é✓"}),
              f"{label}: ack returns the emitted values ({answer!r})")
        blob = bytes(range(256))
        answer = a.sio.call("ack", ("bin", blob), timeout=WAIT)
        check(answer == ("bin", blob),
              f"{label}: ack returns binary data intact")

        # Server -> client emit with an ack, answered by the Python handler's return value.
        a.sio.emit("ask", ("question", 7))
        asked = a.next_event("asked")
        check(asked is not None and asked[0]["error"] is None and asked[0]["args"] == [["answer", 7]],
              f"{label}: server emit_with_ack gets the client's answer ({asked!r})")

        # A broadcast triggered by the other client reaches this one, not the sender.
        b.drain()
        b.sio.emit("broadcast", ("news", "from b", {"n": 1}))
        news = a.next_event("news")
        check(news == ("from b", {"n": 1}), f"{label}: broadcast from the other client received ({news!r})")
        # The server handles b's packets in order: had the broadcast been sent to b too, it would have been
        # queued before this ack.
        b.sio.call("ack", "marker", timeout=WAIT)
        check(all(event != "news" for event, _ in b.drain()), f"{label}: the sender did not get its broadcast")

        check(a.sio.transport() == expected_transport and b.sio.transport() == expected_transport,
              f"{label}: transport is {expected_transport} ({a.sio.transport()})")

        # A clean disconnect: the client sees it, and the server drops the socket.
        sid = a.sio.get_sid("/")
        check(sid in connected_ids(b), f"{label}: server lists the client before it leaves")
        a.sio.disconnect()
        check(a.disconnected.wait(WAIT) and not a.sio.connected, f"{label}: client disconnected")
        deadline = time.monotonic() + WAIT
        gone = False
        while not gone and time.monotonic() < deadline:
            gone = sid not in connected_ids(b)
        check(gone, f"{label}: server no longer lists the disconnected socket")
    finally:
        for c in (a, b):
            if c.sio.connected:
                c.sio.disconnect()


def custom_namespace(url):
    c = Client("/custom")
    try:
        c.connect(url, ["websocket"], namespaces=["/custom"], auth={"token": "ok"})
        welcome = c.next_event("welcome")
        check(welcome is not None and welcome[0]["nsp"] == "/custom" and welcome[0]["auth"] == {"token": "ok"},
              f"/custom: welcome with the namespace and the auth payload ({welcome!r})")
        answer = c.sio.call("ack", [1, 2, 3], namespace="/custom", timeout=WAIT)
        check(answer == [1, 2, 3], f"/custom: ack in a custom namespace ({answer!r})")
    finally:
        if c.sio.connected:
            c.sio.disconnect()


def refused_by_middleware(url):
    c = Client()
    try:
        c.connect(url, ["websocket"], auth={"token": "bad"})
        check(False, "middleware: a bad token must refuse the connection")
    except socketio.exceptions.ConnectionError:
        try:
            data = c.connect_errors.get(timeout=WAIT)
        except queue.Empty:
            data = None
        check(isinstance(data, dict) and data.get("message") == "unauthorized"
              and data.get("data") == {"reason": "bad token"},
              f"middleware: connect_error with message and data ({data!r})")
    finally:
        if c.sio.connected:
            c.sio.disconnect()


def main():
    binary = os.environ.get("SIO_SERVER")
    if not binary or not os.access(binary, os.X_OK):
        print(f"SIO_SERVER must name the sio_test_server binary (got {binary!r})")
        return 1
    watchdog = threading.Timer(WATCHDOG, lambda: (print("FAIL - watchdog: run took too long", flush=True),
                                                  os._exit(1)))
    watchdog.daemon = True
    watchdog.start()
    versions = []
    for dist in ("python-socketio", "python-engineio"):
        try:
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{dist} (version unknown)")
    print(", ".join(versions), f"from {socketio.__file__}", flush=True)
    try:
        server = Server(binary)
    except Exception as exc:
        check(False, f"start {binary}: {exc}")
        print(f"{passed} passed, {failed} failed", flush=True)
        return 1
    try:
        for label, transports, expected in (("websocket", ["websocket"], "websocket"),
                                            ("polling", ["polling"], "polling"),
                                            ("upgrade", ["polling", "websocket"], "websocket")):
            try:
                scenario(server.url, label, transports, expected)
            except Exception as exc:  # a timeout or a refused connection is a failure, not a crash
                check(False, f"{label}: {type(exc).__name__}: {exc}")
        for step in (custom_namespace, refused_by_middleware):
            try:
                step(server.url)
            except Exception as exc:
                check(False, f"{step.__name__}: {type(exc).__name__}: {exc}")
    finally:
        code = server.stop()
        check(code == 0, f"server stopped cleanly on SIGTERM (exit {code})")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
