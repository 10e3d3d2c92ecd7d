// Interop tests: the official socket.io-client (4.8.x) against the sio C++ Socket.IO test server
// (test/sio_test_server.cpp). What is asserted is what a socket.io 4.8 Node server would make the
// client observe.
//
// The server command comes from the SIO_SERVER environment variable. It may contain arguments
// (it is split on whitespace). Contract of the server binary (see the top of sio_test_server.cpp):
//   $SIO_SERVER --port <port>      (0: any free port)
//   prints one line "listening <port>" on stdout once it accepts connections on 127.0.0.1, path
//   /socket.io/, serves the namespaces "/", "/custom" and "/dyn-<digits>" with the events "echo",
//   "ack", "join", "leave", "to-room", "except", "broadcast", "ask", "ask-all", "burst", "volatile-burst",
//   "disconnect-me", "util" (the utility methods: sockets_join, sockets_leave, disconnect_sockets,
//   fetch_sockets, server_count, server_side_emit), emits "welcome" {id, nsp, auth} on connection, emits
//   the room events of "/" and "/custom" as "room-event" to the room "room-events", refuses the auth
//   token "bad" ("unauthorized", {reason: "bad token"}), closes its sockets and exits on SIGTERM.
//
// Synchronisation: every wait is for an event or an ack, bounded by WAIT_MS. To check that
// something did NOT reach a socket, the test first waits for the deliveries that did happen, then
// does an ack round trip on that socket (barrier): the server writes a socket's packets in order,
// so anything it sent to that socket before would have arrived before the ack. The only other
// fixed wait is QUIET_MS (200 ms), only to assert absence: no reconnection after a server-side
// disconnect, no stray ack for an event the server does not acknowledge.
//
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/socketio.test.mjs

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { io, Manager } from "socket.io-client";
import { splitCommand, startServer, useServer } from "./support/server.mjs";
import { defer, SocketRecorder } from "./support/client.mjs";
import { allBytes, assertSameArgs, normalize, patternBytes } from "./support/values.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const SKIP = SERVER_CMD ? false : "SIO_SERVER is not set (path of the Socket.IO test server binary, e.g. build/debug/test/sio_test_server)";

const WAIT_MS = 5_000; // default bound for any single wait on client events
const TEST_TIMEOUT_MS = 15_000; // hard bound for every test
const QUIET_MS = 200; // "nothing happens" window (only used to assert absence)
const SERVER_ACK_TIMEOUT_MS = 1_000; // the test server's timeout for "ask" / "ask-all"

// ---------------------------------------------------------------------------
// Server processes (spawning, port line, SIGTERM / SIGKILL: support/server.mjs)
// ---------------------------------------------------------------------------

const unexpectedExits = []; // { port, time, code, signal }: servers that died without being told to

/**
 * Starts the server with --port <port> (0 by default). Returns what startServer() of
 * support/server.mjs returns: { port, url, stop, kill, ... }.
 */
async function startTestServer({ port: wantedPort = 0 } = {}) {
  const { command, args } = splitCommand(SERVER_CMD);
  const server = await startServer(command, [...args, "--port", String(wantedPort)], {
    onUnexpectedExit: (exit) => unexpectedExits.push(exit),
  });
  if (wantedPort && server.port !== wantedPort) {
    await server.kill();
    assert.equal(server.port, wantedPort, "server listens on the requested port");
  }
  return server;
}

/**
 * A server of its own for one test: for tests that count the sockets of a namespace, and to keep
 * a server crash from spreading to other tests.
 */
async function serverFor(t) {
  const server = await startTestServer();
  // Fails the test if the server crashed meanwhile.
  defer(t, () => server.stop());
  return server;
}

// ---------------------------------------------------------------------------
// Client wrapper: records everything a socket.io-client Socket sees, and offers bounded waits
// ---------------------------------------------------------------------------

class Client extends SocketRecorder {
  /** socket: a socket.io-client Socket (from io() or manager.socket()). */
  constructor(socket) {
    super({
      waitMs: WAIT_MS,
      prefix: `[${socket.nsp}] `,
      disconnected: `[${socket.nsp}] disconnected or connect_error`,
      // Failure path only: give the server's exit event (if it crashed) a moment to be noticed,
      // so that the message says so.
      troubleDelayMs: 100,
    });
    // (queues, connectErrors, disconnects ({ reason, description }) and waiters: SocketRecorder)
    this.socket = socket;
    this.connects = []; // socket id at each "connect"
    this.reconnects = 0;
    this.managerOpens = 0; // Engine.IO connections opened by the Manager
    this.managerCloses = []; // reason of each Manager "close" (its Engine.IO connection ended)
    this.reconnectAttempts = 0;
    this.upgrades = 0;
    this.eventsSeen = 0; // events received (all names)
    this.eventsAtUpgrade = null; // eventsSeen when the first upgrade completed
    this.log = [];
    this.start = Date.now();
    const s = socket;
    s.on("connect", () => {
      this.connects.push(s.id);
      this._event(`connect id=${s.id} (${transportOf(s)})`);
    });
    s.on("connect_error", (err) => {
      this.connectErrors.push(err);
      this._event(`connect_error "${err?.message}" data=${safeJson(err?.data)}`);
    });
    s.on("disconnect", (reason, description) => {
      this.disconnects.push({ reason, description });
      this._event(`disconnect "${reason}"${description?.description ? ` (${description.description})` : ""}`);
    });
    s.onAny((event, ...args) => {
      this.queue(event).push(args);
      this.eventsSeen++;
      this._event(`event ${JSON.stringify(event)} ${summarize(args)}`);
    });
    // Manager (connection-level) events, for diagnostics and reconnection checks.
    const mgr = s.io;
    const engines = new WeakSet();
    const watchEngine = () => {
      const engine = mgr.engine;
      if (!engine || engines.has(engine)) return;
      engines.add(engine);
      engine.on("upgrade", (tr) => {
        this.upgrades++;
        this.eventsAtUpgrade ??= this.eventsSeen;
        this._event(`upgrade (${tr.name})`);
      });
    };
    this.managerListeners = [
      ["open", () => {
        this.managerOpens++;
        watchEngine();
        this._event(`manager open (${transportOf(s)})`);
      }],
      ["close", (reason) => {
        this.managerCloses.push(reason);
        this._event(`manager close "${reason}"`);
      }],
      ["reconnect_attempt", (n) => { this.reconnectAttempts++; this._event(`reconnect_attempt ${n}`); }],
      ["reconnect_error", (err) => this._event(`reconnect_error ${err?.message}`)],
      ["reconnect", (n) => { this.reconnects++; this._event(`reconnect after ${n} attempt(s)`); }],
    ];
    for (const [ev, fn] of this.managerListeners) mgr.on(ev, fn);
    watchEngine();
  }

  _event(text) {
    this.log.push(`+${Date.now() - this.start}ms [${this.socket.nsp}] ${text}`);
    if (this.log.length > 400) this.log.splice(0, 100);
    for (const w of [...this.waiters]) w();
  }

  history() {
    const crashes = unexpectedExits
      .filter((e) => e.time >= this.start)
      .map((e) => `\n  !! the server on port ${e.port} died meanwhile (+${e.time - this.start}ms, code ${e.code}, signal ${e.signal})`);
    return this.log.slice(-25).join("\n  ") + crashes.join("");
  }

  /** Waits for the n-th "connect" (1: the first one). */
  async connected(n = 1, opts) {
    await this.until(() => this.connects.length >= n, `connect #${n}`, opts);
    return this;
  }

  async connectError(opts) {
    return this.until(() => this.connectErrors[0], "connect_error", { allowDisconnect: true, ...opts });
  }

  async disconnected(n = 1, opts) {
    await this.until(() => this.disconnects.length >= n, `disconnect #${n}`, { allowDisconnect: true, ...opts });
    return this.disconnects[n - 1];
  }

  /** Returns the argument lists of the next n `event`s, in arrival order. */
  async take(event, n, opts) {
    const q = this.queue(event);
    await this.until(() => q.length >= n, () => `${n} ${JSON.stringify(event)} event(s), received ${q.length}`, opts);
    return q.splice(0, n);
  }

  async welcome(opts) {
    const [w] = await this.next("welcome", opts);
    return w;
  }

  /** Emits with an acknowledgement and returns all the arguments of the ack. */
  ack(event, ...args) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(WAIT_MS).emit(event, ...args, (err, ...response) => {
        if (err) reject(new Error(`[${this.socket.nsp}] no ack for ${JSON.stringify(event)} within ${WAIT_MS} ms: ${err.message}\n  ${this.history()}`));
        else resolve(response);
      });
    });
  }

  /** Ack round trip: anything the server sent to this socket before is delivered when it resolves. */
  async barrier() {
    const [r] = await this.ack("ack", "barrier");
    assert.equal(r, "barrier", "barrier ack");
  }

  /** After a barrier: asserts that no `event` is pending. */
  assertNone(event, why) {
    const q = this.queue(event);
    assert.equal(q.length, 0, `[${this.socket.nsp} ${this.socket.id}] ${why}: unexpected ${JSON.stringify(event)} ${summarize(q[0] ?? [])}\n  ${this.history()}`);
  }

  dispose() {
    for (const [ev, fn] of this.managerListeners) this.socket.io.off(ev, fn);
    this.socket.offAny();
    // Disconnects (or cancels the reconnection of) the socket; the Manager closes with its last socket.
    this.socket.disconnect();
  }
}

/** Wraps a socket and always closes it when the test ends. */
function track(t, socket) {
  const c = new Client(socket);
  defer(t, () => c.dispose());
  return c;
}

/** A client with a connection of its own (forceNew). */
function connect(t, url, opts = {}) {
  return track(t, io(url, { forceNew: true, ...opts }));
}

/** A Manager (one Engine.IO connection) that is always closed when the test ends. */
function manager(t, url, opts = {}) {
  const mgr = new Manager(url, opts);
  defer(t, () => mgr.disconnect());
  return mgr;
}

/** Waits ms milliseconds. Only used to check that nothing happens meanwhile. */
function quiet(ms = QUIET_MS) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function transportOf(socket) {
  return socket.io.engine?.transport?.name ?? "no transport";
}

function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function summarize(args) {
  const s = safeJson(normalize(args)) ?? "";
  return s.length > 160 ? `${s.slice(0, 160)}...` : s;
}

/** JSON-only arguments: every JSON type, nesting, Unicode, empty containers. */
const jsonArgs = () => [
  1,
  -2.5,
  0,
  Number.MAX_SAFE_INTEGER,
  1e300,
  "héllo wörld — €, 日本語, emoji 😀",
  "",
  "quotes \" and \\ backslash\nnewline",
  true,
  false,
  null,
  { a: { b: [1, "x", null, { c: true }] }, empty: {}, list: [] },
  [],
  {},
];

/** Binary arguments: top-level, nested in objects and arrays, several buffers, a large one. */
const binaryArgs = () => [
  Buffer.from([0, 1, 2, 255]),
  { file: allBytes(), meta: { name: "pic.png", parts: [Buffer.from("part-1"), 3, Buffer.from("part-2")] } },
  [Buffer.from([9]), "text", [Buffer.from([8, 7]), { deep: Buffer.from([6]) }]],
  "plain",
  42,
  patternBytes(100_000, 3),
];

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe("socket.io-client interop", { skip: SKIP, timeout: 120_000 }, () => {
  describe("namespaces and auth", () => {
    const server = useServer(startTestServer);

    it("multiplexes '/' and '/custom' over one connection (io() cache)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      // No forceNew: io() returns sockets of the same cached Manager for the same host.
      const root = track(t, io(server.url, { auth: { token: "root" } }));
      const custom = track(t, io(`${server.url}/custom`, { auth: { token: "custom" } }));
      assert.equal(root.socket.io, custom.socket.io, "both sockets use the same Manager");
      const [w1, w2] = await Promise.all([root.welcome(), custom.welcome()]);
      assert.deepEqual(w1, { id: root.socket.id, nsp: "/", auth: { token: "root" } });
      assert.deepEqual(w2, { id: custom.socket.id, nsp: "/custom", auth: { token: "custom" } });
      assert.notEqual(root.socket.id, custom.socket.id, "one socket id per namespace");
      assert.equal(root.managerOpens, 1, "a single Engine.IO connection was opened");
      assert.equal(root.connects.length, 1);
      assert.equal(custom.connects.length, 1);
      // Both namespaces work independently over the shared connection.
      root.socket.emit("echo", "from-root");
      custom.socket.emit("echo", "from-custom");
      assert.deepEqual(await root.next("echo"), ["from-root"]);
      assert.deepEqual(await custom.next("echo"), ["from-custom"]);
      await Promise.all([root.barrier(), custom.barrier()]);
      root.assertNone("echo", "echo of the other namespace");
      custom.assertNone("echo", "echo of the other namespace");
    });

    it("dynamic namespace /dyn-42 works; /nope gets connect_error \"Invalid namespace\"", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const mgr = manager(t, server.url);
      const dyn = track(t, mgr.socket("/dyn-42"));
      const nope = track(t, mgr.socket("/nope"));
      const err = await nope.connectError();
      assert.equal(err.message, "Invalid namespace");
      assert.equal(err.data, undefined, "no data with \"Invalid namespace\"");
      assert.equal(nope.connects.length, 0);
      assert.equal(nope.socket.active, false, "the client does not retry a refused namespace");
      const w = await dyn.welcome();
      assert.deepEqual(w, { id: dyn.socket.id, nsp: "/dyn-42", auth: {} });
      // The refusal did not harm the shared connection: another dynamic namespace joins it.
      const dyn7 = track(t, mgr.socket("/dyn-7"));
      assert.equal((await dyn7.welcome()).nsp, "/dyn-7");
      dyn.socket.emit("echo", { n: 42 }, Buffer.from("dyn"));
      assertSameArgs(await dyn.next("echo"), [{ n: 42 }, Buffer.from("dyn")], "echo on /dyn-42");
      assert.deepEqual(await dyn7.ack("ack", 7), [7]);
      assert.equal(dyn.disconnects.length + dyn7.disconnects.length, 0, `no disconnect\n  ${dyn.history()}`);
    });

    it("auth payload arrives in welcome.auth (object, function, per namespace, none)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const auth = { token: "good", user: { name: "Zoë", roles: ["a", "b"] }, n: 42, ok: true, nothing: null };
      const c1 = connect(t, server.url, { auth });
      const c2 = connect(t, server.url, { auth: (cb) => cb({ token: "from-function" }) });
      const c3 = connect(t, server.url);
      const mgr = manager(t, server.url);
      const m1 = track(t, mgr.socket("/", { auth: { token: "a" } }));
      const m2 = track(t, mgr.socket("/custom", { auth: { token: "b" } }));
      const [w1, w2, w3, wm1, wm2] = await Promise.all([c1, c2, c3, m1, m2].map((c) => c.welcome()));
      assert.deepEqual(w1.auth, auth);
      assert.deepEqual(w2.auth, { token: "from-function" });
      assert.deepEqual(w3.auth, {}, "no auth: empty object");
      assert.deepEqual(wm1.auth, { token: "a" });
      assert.deepEqual(wm2.auth, { token: "b" });
      assert.equal(wm2.nsp, "/custom");
    });

    it("middleware refuses token \"bad\": connect_error \"unauthorized\" with data, then a retry with a good token connects", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const c = connect(t, server.url, { auth: { token: "bad" } });
      const err = await c.connectError();
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { reason: "bad token" });
      assert.equal(c.connects.length, 0);
      assert.equal(c.socket.active, false, "the client does not retry after a middleware error");
      // The reference lets the client try again with other credentials.
      c.socket.auth = { token: "good" };
      c.socket.connect();
      await c.connected();
      const w = await c.welcome();
      assert.deepEqual(w, { id: c.socket.id, nsp: "/", auth: { token: "good" } });
    });

    it("middleware refusal of one namespace leaves the other namespaces of the connection working", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const mgr = manager(t, server.url);
      const good = track(t, mgr.socket("/", { auth: { token: "fine" } }));
      const bad = track(t, mgr.socket("/custom", { auth: { token: "bad" } }));
      const err = await bad.connectError();
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { reason: "bad token" });
      assert.equal((await good.welcome()).auth.token, "fine");
      assert.deepEqual(await good.ack("ack", "still-here"), ["still-here"]);
      assert.equal(good.disconnects.length, 0);
    });

    server.itStops();
  });

  describe("events and acks", () => {
    const server = useServer(startTestServer);

    it("echo returns JSON arguments unchanged", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const c = await connect(t, server.url).connected();
      c.socket.emit("echo", ...jsonArgs());
      assert.deepEqual(await c.next("echo"), jsonArgs());
      c.socket.emit("echo"); // no arguments at all
      assert.deepEqual(await c.next("echo"), []);
    });

    it("echo returns binary arguments byte for byte (nested, several buffers, 100 KB)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const c = await connect(t, server.url).connected();
      c.socket.emit("echo", ...binaryArgs());
      const got = await c.next("echo");
      assertSameArgs(got, binaryArgs(), "echoed binary arguments");
      c.socket.emit("echo", allBytes());
      assertSameArgs(await c.next("echo"), [allBytes()], "single top-level buffer");
    });

    it("echo of an empty buffer", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const c = await connect(t, server.url).connected();
      c.socket.emit("echo", Buffer.alloc(0), { e: Buffer.alloc(0) });
      assertSameArgs(await c.next("echo"), [Buffer.alloc(0), { e: Buffer.alloc(0) }], "empty buffers");
    });

    it("emitWithAck(\"ack\", ...) resolves with the first argument (JSON and binary)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const c = await connect(t, server.url).connected();
      assert.equal(await c.socket.emitWithAck("ack", "first", 2, 3), "first");
      assert.deepEqual(await c.socket.emitWithAck("ack", { a: [1, { b: null }] }), { a: [1, { b: null }] });
      assertSameArgs([await c.socket.emitWithAck("ack", { bin: allBytes(), list: [Buffer.from([1]), Buffer.from([2])] }, "x")],
        [{ bin: allBytes(), list: [Buffer.from([1]), Buffer.from([2])] }], "binary first argument");
      assert.equal(await c.socket.emitWithAck("ack"), undefined, "ack with no arguments");
      // The callback form gets every argument of the ack.
      assertSameArgs(await c.ack("ack", ...binaryArgs()), binaryArgs(), "all ack arguments");
      assertSameArgs(await c.ack("ack", ...jsonArgs()), jsonArgs(), "all ack arguments (JSON)");
    });

    it("socket.timeout(2000).emitWithAck(...) resolves; an event the server does not ack times out", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const c = await connect(t, server.url).connected();
      assertSameArgs([await c.socket.timeout(2000).emitWithAck("ack", Buffer.from("timed"), 1)], [Buffer.from("timed")]);
      const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => c.socket.timeout(2000).emitWithAck("ack", i)));
      assert.deepEqual(acks, Array.from({ length: 20 }, (_, i) => i), "20 concurrent acks matched to their emits");
      // "echo" emits back but never acks: the client-side timeout fires (nothing stray arrives as an ack).
      await assert.rejects(c.socket.timeout(QUIET_MS).emitWithAck("echo", "no-ack"), /operation has timed out/);
      assert.deepEqual(await c.next("echo"), ["no-ack"]);
    });

    server.itStops();
  });

  describe("server → client acks (\"ask\", one server per test)", () => {
    it("the client's answer comes back in \"asked\" (JSON and binary)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const c = await connect(t, server.url).connected();
      const questions = [];
      const answer = ["answer", { blob: Buffer.from([1, 2, 3]), list: [Buffer.from("xyz"), null] }, 42];
      c.socket.on("question", (...args) => {
        const cb = args.pop();
        assert.equal(typeof cb, "function", "the server asked for an ack");
        questions.push(args);
        cb(...answer);
      });
      const payload = [{ q: "why?", data: Buffer.from([0xde, 0xad]) }, Buffer.from([7]), "plain"];
      c.socket.emit("ask", "question", ...payload);
      const [asked] = await c.next("asked");
      assert.equal(asked.error, null, `asked.error ${JSON.stringify(asked.error)}`);
      assert.equal(questions.length, 1);
      assertSameArgs(questions[0], payload, "arguments of the server's event");
      assertSameArgs(asked.args, answer, "the client's ack arguments, as the server received them");
      assert.deepEqual(await c.ack("ack", "after"), ["after"], "socket still handles events");
    });

    it("several asks in a row on one socket (JSON, binary, empty answers); the socket keeps working", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const c = await connect(t, server.url).connected();
      c.socket.on("plain-question", (n, cb) => cb({ doubled: n * 2 }));
      c.socket.on("binary-question", (b, cb) => cb(Buffer.concat([b, b])));
      c.socket.on("empty-question", (cb) => cb());
      const rounds = [
        ["plain-question", [21], [{ doubled: 42 }]],
        ["binary-question", [Buffer.from([1, 2])], [Buffer.from([1, 2, 1, 2])]],
        ["empty-question", [], []],
        ["plain-question", [1], [{ doubled: 2 }]],
        ["binary-question", [Buffer.from("ab")], [Buffer.from("abab")]],
      ];
      for (const [i, [event, args, want]] of rounds.entries()) {
        c.socket.emit("ask", event, ...args);
        const [asked] = await c.until(() => c.queue("asked").shift(), `"asked" for ask #${i + 1} (${event})`);
        assertSameArgs(asked, { error: null, args: want }, `ask #${i + 1} (${event})`);
        const plain = await c.ack("ack", i).catch((err) => {
          throw new Error(`plain "ack" event after ask #${i + 1} (${event}) not answered: ${err.message}`);
        });
        assert.deepEqual(plain, [i], `plain ack after ask #${i + 1}`);
      }
    });

    it("a client that does not answer makes \"asked\".error non-null after ~1 s", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const c = await connect(t, server.url).connected();
      let received = 0;
      c.socket.on("silent-question", () => { received++; }); // never calls the ack callback
      const start = Date.now();
      c.socket.emit("ask", "silent-question", 1);
      const [asked] = await c.next("asked");
      const elapsed = Date.now() - start;
      t.diagnostic(`"asked" after ${elapsed} ms: ${JSON.stringify(asked)}`);
      assert.equal(received, 1, "the question was delivered");
      assert.equal(asked.error, "operation has timed out");
      assert.deepEqual(asked.args, []);
      assert.ok(elapsed >= SERVER_ACK_TIMEOUT_MS - 100, `timed out after ${elapsed} ms, expected ~${SERVER_ACK_TIMEOUT_MS}`);
      assert.ok(elapsed < SERVER_ACK_TIMEOUT_MS + 2_000, `timed out after ${elapsed} ms, expected ~${SERVER_ACK_TIMEOUT_MS}`);
      // Still usable afterwards.
      assert.deepEqual(await c.ack("ack", "after"), ["after"]);
    });
  });

  describe("broadcast with acks (\"ask-all\", one server per test)", () => {
    it("3 clients answer: responses from all of them, error null", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const clients = await Promise.all([0, 1, 2].map(() => connect(t, server.url).connected()));
      clients.forEach((c, i) => c.socket.on("poll", (n, cb) => cb({ i, id: c.socket.id, n })));
      clients[0].socket.emit("ask-all", "poll", 5);
      const [res] = await clients[0].next("asked-all");
      assert.equal(res.error, null, `error ${JSON.stringify(res.error)}`);
      assert.equal(res.responses.length, 3, `responses ${JSON.stringify(res.responses)}`);
      // Each response is the argument list of one client's ack.
      const answers = res.responses.map((r) => r[0]).sort((a, b) => a.i - b.i);
      assert.deepEqual(answers, clients.map((c, i) => ({ i, id: c.socket.id, n: 5 })));
    });

    it("one silent client: error non-null after ~1 s, responses from the others", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const clients = await Promise.all([0, 1, 2].map(() => connect(t, server.url).connected()));
      let silentGotIt = 0;
      clients[0].socket.on("poll", (cb) => cb("a"));
      clients[1].socket.on("poll", (cb) => cb("b"));
      clients[2].socket.on("poll", () => { silentGotIt++; }); // never answers
      const start = Date.now();
      clients[0].socket.emit("ask-all", "poll");
      const [res] = await clients[0].next("asked-all");
      const elapsed = Date.now() - start;
      t.diagnostic(`"asked-all" after ${elapsed} ms: ${JSON.stringify(res)}`);
      assert.equal(silentGotIt, 1, "the silent client received the event");
      assert.equal(res.error, "operation has timed out");
      assert.deepEqual(res.responses.map((r) => r[0]).sort(), ["a", "b"]);
      assert.ok(elapsed >= SERVER_ACK_TIMEOUT_MS - 100, `answered after ${elapsed} ms, expected ~${SERVER_ACK_TIMEOUT_MS}`);
    });
  });

  describe("rooms and broadcasting (one server per test)", () => {
    it("join/leave ack the rooms; to-room reaches members only; except skips members; broadcast skips the sender", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => connect(t, server.url).connected()));
      const other = await connect(t, `${server.url}/custom`).connected(); // same room name, other namespace
      const everyone = [a, b, c, other];
      const sorted = (list) => [...list].sort();

      assert.deepEqual(sorted((await a.ack("join", "r1"))[0]), sorted([a.socket.id, "r1"]), "rooms of a after join");
      assert.deepEqual(sorted((await b.ack("join", "r1"))[0]), sorted([b.socket.id, "r1"]), "rooms of b after join");
      assert.deepEqual(sorted((await b.ack("join", "r2"))[0]), sorted([b.socket.id, "r1", "r2"]), "rooms of b after a second join");
      assert.deepEqual(sorted((await other.ack("join", "r1"))[0]), sorted([other.socket.id, "r1"]), "rooms in /custom");

      // Checks that exactly `expected` (with these args) got `event`, nobody else (barrier per client).
      const expectDelivery = async (event, args, expected, why) => {
        const got = await Promise.all(expected.map((x) => x.next(event)));
        got.forEach((g) => assertSameArgs(g, args, `${why}: arguments`));
        await Promise.all(everyone.map((x) => x.barrier()));
        for (const x of everyone) x.assertNone(event, why);
      };

      // Sender not in the room.
      const payload = [{ n: 1, bin: Buffer.from([1, 2]) }, Buffer.from("room")];
      c.socket.emit("to-room", "r1", "room-msg", ...payload);
      await expectDelivery("room-msg", payload, [a, b], "to-room r1 from a non-member");
      // Sender in the room gets it too (io.to(room), not socket.to(room)).
      a.socket.emit("to-room", "r1", "room-msg2", "hi");
      await expectDelivery("room-msg2", ["hi"], [a, b], "to-room r1 from a member");
      // Every socket is in the room named by its id.
      c.socket.emit("to-room", b.socket.id, "private", "psst");
      await expectDelivery("private", ["psst"], [b], "to-room <b's id>");
      c.socket.emit("to-room", "nobody-here", "void", 0);
      await expectDelivery("void", [0], [], "to-room of an empty room");
      // except(room): everyone in the namespace but the members (the sender included when not a member).
      a.socket.emit("except", "r1", "ex-msg", { x: 1 });
      await expectDelivery("ex-msg", [{ x: 1 }], [c], "except r1 (sent by a member)");
      c.socket.emit("except", "r2", "ex-msg2", 2);
      await expectDelivery("ex-msg2", [2], [a, c], "except r2 (sent by a non-member)");
      // broadcast: everyone in the namespace but the sender.
      a.socket.emit("broadcast", "bc-msg", Buffer.from([3]), "x");
      await expectDelivery("bc-msg", [Buffer.from([3]), "x"], [b, c], "broadcast from a");

      // leave
      assert.deepEqual(sorted((await a.ack("leave", "r1"))[0]), [a.socket.id], "rooms of a after leave");
      assert.deepEqual(sorted((await a.ack("leave", "not-joined"))[0]), [a.socket.id], "leaving a room not joined");
      c.socket.emit("to-room", "r1", "after-leave", 1);
      await expectDelivery("after-leave", [1], [b], "to-room r1 after a left");
    });
  });

  describe("utility methods: \"util\" requests (one server per test)", () => {
    // Short reconnection delays, so that a wrong automatic reconnection would show within QUIET_MS.
    const fastReconnect = { reconnectionDelay: 20, reconnectionDelayMax: 50, randomizationFactor: 0 };
    const sorted = (list) => [...list].sort();

    /** Sends a "util" request on client c and returns the server's answer (the ack's first argument). */
    const util = async (c, request) => {
      const [answer] = await c.ack("util", request);
      return answer;
    };
    /** Same, for the operations that answer {error} only: asserts that error is null. */
    const utilOk = async (c, request) => {
      assert.deepEqual(await util(c, request), { error: null }, `"util" ${JSON.stringify(request)}`);
    };
    /** The rooms of client c as the server sees them (a "join" of its own id room changes nothing). */
    const roomsOf = async (c) => sorted((await c.ack("join", c.socket.id))[0]);

    /**
     * Checks that exactly `expected` (with these args) got `event`, and nobody else of `everyone`
     * (a barrier per client).
     */
    const expectDelivery = async (everyone, event, args, expected, why) => {
      const got = await Promise.all(expected.map((x) => x.next(event)));
      got.forEach((g) => assert.deepEqual(g, args, `${why}: arguments`));
      await Promise.all(everyone.map((x) => x.barrier()));
      for (const x of everyone) x.assertNone(event, why);
    };

    /** Four clients on "/" and one on "/custom", each with a connection of its own. */
    const fiveClients = async (t, server) => {
      const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => connect(t, server.url).connected()));
      const other = await connect(t, `${server.url}/custom`).connected();
      return { a, b, c, d, other, everyone: [a, b, c, d, other] };
    };

    it("sockets_join at one client's request puts other clients in rooms: a later broadcast reaches exactly them", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const { a, b, c, d, other, everyone } = await fiveClients(t, server);

      await utilOk(a, { op: "join", in: [b.socket.id, c.socket.id], rooms: ["r1", "r2"] });
      assert.deepEqual(await roomsOf(b), sorted([b.socket.id, "r1", "r2"]), "rooms of b");
      assert.deepEqual(await roomsOf(c), sorted([c.socket.id, "r1", "r2"]), "rooms of c");
      assert.deepEqual(await roomsOf(a), [a.socket.id], "rooms of a (the requester, not selected)");
      d.socket.emit("to-room", "r1", "m1", { n: 1 });
      await expectDelivery(everyone, "m1", [{ n: 1 }], [b, c], "to-room r1 after sockets_join of b and c");
      a.socket.emit("to-room", "r2", "m2", "two");
      await expectDelivery(everyone, "m2", ["two"], [b, c], "to-room r2 after sockets_join of b and c");

      // No `in`: every socket of the namespace (the requester too), not those of "/custom"; local() on
      // one server selects the same sockets.
      await utilOk(a, { op: "join", rooms: ["all"], local: true });
      b.socket.emit("to-room", "all", "m3", 3);
      await expectDelivery(everyone, "m3", [3], [a, b, c, d], "to-room all after sockets_join of the namespace");
      other.socket.emit("to-room", "all", "m4", 4);
      await expectDelivery(everyone, "m4", [4], [], "to-room all in /custom (nobody joined there)");
    });

    it("sockets_leave removes the selected sockets from the rooms", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const { a, b, c, d, everyone } = await fiveClients(t, server);

      await utilOk(a, { op: "join", rooms: ["r", "s"] });
      await utilOk(a, { op: "leave", in: [b.socket.id], rooms: ["r"] });
      assert.deepEqual(await roomsOf(b), sorted([b.socket.id, "s"]), "rooms of b after sockets_leave r");
      d.socket.emit("to-room", "r", "m1", 1);
      await expectDelivery(everyone, "m1", [1], [a, c, d], "to-room r after b left");

      // Every socket but c's leaves r (b, not in it any more, is unaffected).
      await utilOk(a, { op: "leave", rooms: ["r"], except: [c.socket.id] });
      d.socket.emit("to-room", "r", "m2", 2);
      await expectDelivery(everyone, "m2", [2], [c], "to-room r after all but c left");

      // The members of s leave s: the room is empty.
      await utilOk(b, { op: "leave", in: ["s"], rooms: ["s"] });
      d.socket.emit("to-room", "s", "m3", 3);
      await expectDelivery(everyone, "m3", [3], [], "to-room s after its members left it");
      for (const x of [a, b, c, d]) assert.ok(!(await roomsOf(x)).includes("s"), `[${x.socket.id}] still in s`);
    });

    it("in(rooms).except(rooms) select the sockets; a socket id is a room; the namespace bounds the selection", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const { a, b, c, d, other, everyone } = await fiveClients(t, server);
      await a.ack("join", "red");
      await b.ack("join", "red");
      await b.ack("join", "blue");
      await c.ack("join", "blue");

      await utilOk(d, { op: "join", in: ["red"], except: ["blue"], rooms: ["x"] });
      d.socket.emit("to-room", "x", "mx", "x");
      await expectDelivery(everyone, "mx", ["x"], [a], "in(red).except(blue)");

      await utilOk(d, { op: "join", in: ["red", "blue"], except: [a.socket.id], rooms: ["y"] });
      d.socket.emit("to-room", "y", "my", "y");
      await expectDelivery(everyone, "my", ["y"], [b, c], "in(red, blue).except(<a's id>)");

      await utilOk(a, { op: "join", in: [d.socket.id], rooms: ["z"] });
      a.socket.emit("to-room", "z", "mz", "z");
      await expectDelivery(everyone, "mz", ["z"], [d], "in(<d's id>)");

      await utilOk(a, { op: "join", in: ["red"], except: ["red"], rooms: ["w"] });
      a.socket.emit("to-room", "w", "mw", "w");
      await expectDelivery(everyone, "mw", ["w"], [], "in(red).except(red)");

      // From "/custom", a room of "/" (a's id) selects nobody.
      await utilOk(other, { op: "join", in: [a.socket.id], rooms: ["q"] });
      a.socket.emit("to-room", "q", "mq", "q");
      other.socket.emit("to-room", "q", "mq", "q");
      await expectDelivery(everyone, "mq", ["q"], [], "in(<a's id>) asked on /custom");

      const fetched = await util(a, { op: "fetch", in: ["blue"], except: [c.socket.id] });
      assert.deepEqual(fetched.sockets.map((s) => s.id), [b.socket.id], "fetch in(blue).except(<c's id>)");
    });

    for (const transport of ["websocket", "polling"]) {
      it(`disconnect_sockets(false), ${transport}: "io server disconnect" for the selected socket only, its Engine.IO connection stays open`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const server = await serverFor(t);
        const a = await connect(t, server.url).connected(); // asks
        const c = await connect(t, server.url).connected(); // bystander
        const mgr = manager(t, server.url, { ...fastReconnect, transports: [transport] });
        const b = track(t, mgr.socket("/"));
        const bCustom = track(t, mgr.socket("/custom")); // keeps the Manager open (it closes with its last socket)
        await Promise.all([b.welcome(), bCustom.welcome()]);
        const engine = mgr.engine;

        await utilOk(a, { op: "disconnect", in: [b.socket.id], close: false });
        const { reason } = await b.disconnected();
        assert.equal(reason, "io server disconnect", `disconnect reason\n  ${b.history()}`);
        assert.equal(b.socket.active, false, "no automatic reconnection planned");
        // The connection still carries "/custom".
        assert.deepEqual(await bCustom.ack("ack", "alive"), ["alive"]);
        assert.equal(mgr.engine, engine, "same Engine.IO connection");
        assert.equal(engine.readyState, "open", "Engine.IO connection open");
        assert.deepEqual(b.managerCloses, [], `no Manager close\n  ${b.history()}`);
        await Promise.all([a.barrier(), c.barrier()]);
        for (const x of [a, c, bCustom]) assert.equal(x.disconnects.length, 0, `[${x.socket.nsp} ${x.socket.id}] not disconnected\n  ${x.history()}`);
        await quiet();
        assert.equal(b.connects.length, 1, `no reconnection\n  ${b.history()}`);
        assert.equal(b.reconnectAttempts, 0, `no reconnection attempt\n  ${b.history()}`);

        // "/" connects again over the same Engine.IO connection.
        b.socket.connect();
        await b.connected(2);
        assert.equal((await b.welcome()).id, b.socket.id);
        assert.equal(mgr.engine, engine, "still the same Engine.IO connection");
        assert.equal(b.managerOpens, 1, "no new Engine.IO connection");
        const fetched = await util(a, { op: "fetch" });
        assert.deepEqual(sorted(fetched.sockets.map((s) => s.id)), sorted([a.socket.id, c.socket.id, b.socket.id]), "sockets of / after the reconnection");
      });

      it(`disconnect_sockets(true), ${transport}: the Engine.IO connection of the selected sockets ends`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const server = await serverFor(t);
        const a = await connect(t, server.url).connected(); // asks
        const c = await connect(t, server.url).connected(); // bystander
        const mgr = manager(t, server.url, { ...fastReconnect, transports: [transport] });
        const b = track(t, mgr.socket("/"));
        const bCustom = track(t, mgr.socket("/custom"));
        await Promise.all([b.welcome(), bCustom.welcome()]);
        const engine = mgr.engine;
        await b.ack("join", "doomed");

        await utilOk(a, { op: "disconnect", in: ["doomed"], close: true });
        // Like socket.disconnect(true): a DISCONNECT for every namespace of the connection, then the close.
        const [r1, r2] = await Promise.all([b.disconnected(), bCustom.disconnected()]);
        assert.equal(r1.reason, "io server disconnect", `"/" disconnect reason\n  ${b.history()}`);
        assert.equal(r2.reason, "io server disconnect", `"/custom" disconnect reason\n  ${bCustom.history()}`);
        await b.until(() => b.managerCloses.length > 0, "Manager close", { allowDisconnect: true });
        assert.equal(engine.readyState, "closed", "Engine.IO connection closed");
        await Promise.all([a.barrier(), c.barrier()]);
        for (const x of [a, c]) assert.equal(x.disconnects.length, 0, `[${x.socket.id}] not disconnected\n  ${x.history()}`);
        await quiet();
        assert.equal(b.connects.length + bCustom.connects.length, 2, `no reconnection\n  ${b.history()}`);
        assert.equal(b.reconnectAttempts, 0, `no reconnection attempt\n  ${b.history()}`);
        const fetched = await util(a, { op: "fetch" });
        assert.deepEqual(sorted(fetched.sockets.map((s) => s.id)), sorted([a.socket.id, c.socket.id]), "sockets of / after the disconnection");
      });
    }

    it("disconnect_sockets applies to the namespace it is called on; except() spares the requester", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const mgr = manager(t, server.url, { ...fastReconnect, transports: ["websocket"] });
      const b = track(t, mgr.socket("/"));
      const bCustom = track(t, mgr.socket("/custom"));
      await Promise.all([b.welcome(), bCustom.welcome()]);
      const asker = await connect(t, `${server.url}/custom`).connected();

      await utilOk(asker, { op: "disconnect", except: [asker.socket.id], close: false });
      assert.equal((await bCustom.disconnected()).reason, "io server disconnect");
      assert.deepEqual(await b.ack("ack", "alive"), ["alive"], "\"/\" of the same connection still works");
      await asker.barrier();
      assert.equal(b.disconnects.length, 0, `"/" not disconnected\n  ${b.history()}`);
      assert.equal(asker.disconnects.length, 0, `the requester not disconnected\n  ${asker.history()}`);
      assert.deepEqual((await util(asker, { op: "fetch" })).sockets.map((s) => s.id), [asker.socket.id], "sockets of /custom");
    });

    it("fetch_sockets returns the selected sockets with their rooms and handshake", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const [a, b, c] = await Promise.all(["t0", "t1", "t2"].map((token) => connect(t, server.url, { auth: { token } }).connected()));
      const other = await connect(t, `${server.url}/custom`, { auth: { token: "t3" } }).connected();
      await b.ack("join", "r1");
      await c.ack("join", "r1");
      await c.ack("join", "r2");
      const byId = (list) => [...list].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      // `data` is reported for remote sockets only (a local socket's data belongs to its strand).
      const entry = (x, token, rooms) => ({ id: x.socket.id, rooms: sorted([x.socket.id, ...rooms]), local: true, auth: { token }, data: null });

      const all = await util(a, { op: "fetch" });
      assert.equal(all.error, null);
      assert.equal(all.expected, 0, "no other server asked");
      assert.equal(all.answered, 0);
      assert.deepEqual(all.silent, []);
      assert.deepEqual(byId(all.sockets), byId([entry(a, "t0", []), entry(b, "t1", ["r1"]), entry(c, "t2", ["r1", "r2"])]), "fetch of /");

      const ids = async (request) => sorted((await util(a, { op: "fetch", ...request })).sockets.map((s) => s.id));
      assert.deepEqual(await ids({ in: ["r1"] }), sorted([b.socket.id, c.socket.id]), "in(r1)");
      assert.deepEqual(await ids({ in: ["r1"], except: ["r2"] }), [b.socket.id], "in(r1).except(r2)");
      assert.deepEqual(await ids({ in: [c.socket.id], local: true }), [c.socket.id], "in(<c's id>).local()");
      assert.deepEqual(await ids({ in: ["nobody"] }), [], "in(an empty room)");
      assert.deepEqual((await util(other, { op: "fetch" })).sockets, [entry(other, "t3", [])], "fetch of /custom");

      // A socket the server disconnected is gone: the client sees its DISCONNECT once the server dropped it.
      await utilOk(a, { op: "disconnect", in: [b.socket.id] });
      await b.disconnected();
      assert.deepEqual(await ids({}), sorted([a.socket.id, c.socket.id]), "fetch after b was disconnected");
    });

    it("room events (create, join, leave, delete) follow sockets_join, sockets_leave and disconnections", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const [a, b, c, w] = await Promise.all([0, 1, 2, 3].map(() => connect(t, server.url).connected()));
      // The watcher's own join comes first: the room is created, then w joins it.
      await w.ack("join", "room-events");
      assert.deepEqual(await w.take("room-event", 2), [["create", "room-events"], ["join", "room-events", w.socket.id]]);
      const next = async (n, why) => {
        const got = await w.take("room-event", n);
        await w.barrier();
        w.assertNone("room-event", why);
        return got;
      };

      await utilOk(a, { op: "join", in: [b.socket.id, c.socket.id], rooms: ["lobby"] });
      const joined = await next(3, "sockets_join");
      assert.deepEqual(joined[0], ["create", "lobby"], "the room is created before anyone joins");
      assert.deepEqual(sorted(joined.slice(1).map((e) => JSON.stringify(e))), sorted([b, c].map((x) => JSON.stringify(["join", "lobby", x.socket.id]))));

      await utilOk(a, { op: "join", in: [b.socket.id], rooms: ["lobby"] });
      await next(0, "joining a room again changes nothing");

      await utilOk(a, { op: "leave", in: ["lobby"], rooms: ["lobby"] });
      const left = await next(3, "sockets_leave");
      assert.deepEqual(left[2], ["delete", "lobby"], "the room is deleted once its last member left");
      assert.deepEqual(sorted(left.slice(0, 2).map((e) => JSON.stringify(e))), sorted([b, c].map((x) => JSON.stringify(["leave", "lobby", x.socket.id]))));

      // A socket that goes away leaves its own room, which is deleted.
      const bid = b.socket.id;
      b.socket.disconnect();
      assert.deepEqual(await next(2, "client disconnection"), [["leave", bid, bid], ["delete", bid]]);
      // The socket is gone from the adapter once its room is deleted.
      assert.deepEqual(sorted((await util(a, { op: "fetch" })).sockets.map((s) => s.id)), sorted([a.socket.id, c.socket.id, w.socket.id]));
    });

    it("server_count and server-side events on a single server", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const server = await serverFor(t);
      const c = await connect(t, server.url).connected();
      assert.deepEqual(await util(c, { op: "count" }), { count: 1 });
      // No other server: nobody to reach, nobody to wait for.
      assert.deepEqual(await util(c, { op: "server-emit", event: "server-ping", args: [1, "x"] }), { error: null });
      const start = Date.now();
      assert.deepEqual(await util(c, { op: "server-emit", event: "server-ping", args: [], timeout: 3000 }), { error: null, expected: 0, answered: 0, silent: [], responses: [] });
      assert.ok(Date.now() - start < 2000, "answered without waiting for the timeout");
      // Reserved names are refused, with or without acknowledgements.
      assert.deepEqual(await util(c, { op: "server-emit", event: "connect", args: [] }), { error: "reserved event name" });
      const reserved = await util(c, { op: "server-emit", event: "new_namespace", args: [], timeout: 100 });
      assert.equal(reserved.error, "reserved event name");
      assert.deepEqual(await util(c, { op: "nope" }), { error: "unknown op" });
    });
  });

  describe("order", () => {
    const server = useServer(startTestServer);

    for (const [name, opts] of [
      ["websocket only", { transports: ["websocket"] }],
      ["polling only", { transports: ["polling"] }],
      ["default transports (polling, then upgrade to websocket)", {}],
    ]) {
      it(`"burst" 2000 events arrive in order: ${name}`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const c = connect(t, server.url, opts);
        // Asked for as soon as the socket connects (for the default transports, usually before the upgrade).
        c.socket.once("connect", () => c.socket.emit("burst", 2000));
        const got = await c.take("burst", 2000, { ms: 10_000 });
        const firstWrong = got.findIndex((args, i) => args.length !== 1 || args[0] !== i);
        assert.equal(firstWrong, -1, `event #${firstWrong} has arguments ${JSON.stringify(got[firstWrong])}`);
        if (opts.transports) assert.equal(transportOf(c.socket), opts.transports[0]);
        else {
          await c.until(() => c.upgrades > 0, "upgrade to websocket");
          t.diagnostic(`upgraded to websocket after ${c.eventsAtUpgrade} received events (welcome + burst)`);
        }
        await c.barrier();
        c.assertNone("burst", "more than 2000 burst events");
      });
    }

    it("volatile events are dropped while the transport is busy, then normal delivery goes on", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const c = await connect(t, server.url, { transports: ["websocket"] }).connected();
      // 200 volatile emits in one handler: the first finds an idle transport, the rest find it busy.
      c.socket.emit("volatile-burst", 200);
      const [n] = await c.next("volatile-done");
      assert.equal(n, 200);
      await c.barrier();
      const got = c.queue("volatile").splice(0).map((args) => args[0]);
      assert.ok(got.length >= 1 && got.length < 200, `received ${got.length} of 200 volatile events`);
      assert.deepEqual(got, [...got].sort((x, y) => x - y), "volatile events keep their order");
    });

    server.itStops();
  });

  describe("transports", () => {
    const server = useServer(startTestServer);

    for (const transport of ["polling", "websocket"]) {
      it(`${transport} only: echo, acks both ways, with binary`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const c = await connect(t, server.url, { transports: [transport] }).connected();
        assert.equal(transportOf(c.socket), transport);
        c.socket.emit("echo", ...binaryArgs());
        assertSameArgs(await c.next("echo"), binaryArgs(), "echo");
        c.socket.emit("echo", ...jsonArgs());
        assert.deepEqual(await c.next("echo"), jsonArgs());
        assertSameArgs(await c.ack("ack", ...binaryArgs()), binaryArgs(), "ack");
        c.socket.on("q", (x, cb) => cb({ got: x, bin: patternBytes(5000, 9) }));
        c.socket.emit("ask", "q", Buffer.from([4, 2]));
        const [asked] = await c.next("asked");
        assertSameArgs(asked, { error: null, args: [{ got: Buffer.from([4, 2]), bin: patternBytes(5000, 9) }] }, "asked");
        assert.equal(transportOf(c.socket), transport, "still on the same transport");
        assert.equal(c.upgrades, 0, "no upgrade");
      });
    }

    server.itStops();
  });

  describe("server-side disconnect", () => {
    const server = useServer(startTestServer);
    // Short reconnection delays, so that a wrong automatic reconnection would show within QUIET_MS.
    const fastReconnect = { reconnectionDelay: 20, reconnectionDelayMax: 50, randomizationFactor: 0 };

    // Per transport: the DISCONNECT packet must reach the client before the connection closes
    // (reference, polling: the DISCONNECT in one poll response, the Engine.IO close in the next one;
    // socket.io-client hands decoded packets over on the next tick, so a close packet in the same
    // payload would win and be reported as "transport close").
    for (const transport of ["websocket", "polling"]) {
      for (const close of [false, true]) {
        it(`"disconnect-me" close=${close}, ${transport} only: "io server disconnect", no automatic reconnection`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c = await connect(t, server.url, { ...fastReconnect, transports: [transport] }).connected();
          await c.welcome();
          c.socket.emit("disconnect-me", close);
          const { reason } = await c.disconnected();
          assert.equal(reason, "io server disconnect", `disconnect reason\n  ${c.history()}`);
          assert.equal(c.socket.active, false, "socket no longer active");
          await quiet();
          assert.equal(c.connects.length, 1, `no reconnection\n  ${c.history()}`);
          assert.equal(c.reconnectAttempts, 0, `no reconnection attempt\n  ${c.history()}`);
          // A manual connect() is allowed and gives a new session.
          c.socket.connect();
          await c.connected(2);
          const w = await c.welcome();
          assert.equal(w.id, c.socket.id);
          assert.notEqual(c.connects[1], c.connects[0], "new socket id");
        });
      }
    }

    it("\"disconnect-me\" close=false on a multiplexed connection (websocket): only that namespace is disconnected", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const mgr = manager(t, server.url, { ...fastReconnect, transports: ["websocket"] });
      const root = track(t, mgr.socket("/"));
      const custom = track(t, mgr.socket("/custom"));
      await Promise.all([root.welcome(), custom.welcome()]);
      const engine = mgr.engine;
      root.socket.emit("disconnect-me", false);
      assert.equal((await root.disconnected()).reason, "io server disconnect");
      assert.deepEqual(await custom.ack("ack", "alive"), ["alive"]);
      assert.equal(mgr.engine, engine, "same Engine.IO connection");
      assert.equal(custom.disconnects.length, 0, `"/custom" stays connected\n  ${custom.history()}`);
      assert.equal(root.socket.active, false);
    });

    it("\"disconnect-me\" close=true on a multiplexed connection (websocket): every namespace gets \"io server disconnect\"", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      // Reference (socket.io 4.8 Socket#disconnect(true) -> Client#_disconnect): a DISCONNECT packet
      // is sent for each namespace of the connection, then the connection is closed. So no
      // namespace reconnects automatically.
      const mgr = manager(t, server.url, { ...fastReconnect, transports: ["websocket"] });
      const root = track(t, mgr.socket("/"));
      const custom = track(t, mgr.socket("/custom"));
      await Promise.all([root.welcome(), custom.welcome()]);
      root.socket.emit("disconnect-me", true);
      const [r1, r2] = await Promise.all([root.disconnected(), custom.disconnected()]);
      assert.equal(r1.reason, "io server disconnect", `"/" disconnect reason\n  ${root.history()}`);
      assert.equal(r2.reason, "io server disconnect", `"/custom" disconnect reason (reference: a DISCONNECT packet for every namespace before closing)\n  ${custom.history()}`);
      await quiet();
      assert.equal(root.connects.length + custom.connects.length, 2, `no reconnection\n  ${custom.history()}`);
    });

    server.itStops();
  });

  describe("reconnection after a server restart on the same port", () => {
    for (const [how, signal] of [["killed (SIGKILL)", "SIGKILL"], ["stopped (SIGTERM)", "SIGTERM"]]) {
      it(`server ${how} and restarted: the Manager reconnects every namespace`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const first = await startTestServer();
        let second = null;
        defer(t, async () => {
          await first.kill();
          if (second) await second.stop(); // fails the test if the restarted server crashed
        });
        const mgr = manager(t, first.url, { reconnectionDelay: 50, reconnectionDelayMax: 200, randomizationFactor: 0 });
        const root = track(t, mgr.socket("/", { auth: { token: "again" } }));
        const custom = track(t, mgr.socket("/custom"));
        const [w1, w2] = await Promise.all([root.welcome(), custom.welcome()]);
        await root.until(() => root.upgrades > 0, "upgrade to websocket");

        if (signal === "SIGTERM") await first.stop(); // graceful: the server closes its connections
        else await first.kill("SIGKILL");
        const [d1, d2] = await Promise.all([root.disconnected(), custom.disconnected()]);
        t.diagnostic(`disconnect reasons: "${d1.reason}", "${d2.reason}"`);
        // Reference: Server#close() closes the sockets without a DISCONNECT packet ("transport close"),
        // which is what lets the clients reconnect; a kill gives "transport close" or "transport error".
        for (const [c, d] of [[root, d1], [custom, d2]]) {
          const want = signal === "SIGTERM" ? ["transport close"] : ["transport close", "transport error"];
          assert.ok(want.includes(d.reason), `[${c.socket.nsp}] disconnect reason "${d.reason}", expected ${want.join(" or ")}\n  ${c.history()}`);
          assert.equal(c.socket.active, true, `[${c.socket.nsp}] still trying to reconnect`);
        }

        try {
          second = await startTestServer({ port: first.port });
        } catch (err) {
          t.skip(`cannot start a second server on port ${first.port}: ${err.message}`);
          return;
        }
        await Promise.all([root.connected(2, { allowDisconnect: true, ms: 10_000 }), custom.connected(2, { allowDisconnect: true, ms: 10_000 })]);
        const [v1, v2] = await Promise.all([root.welcome(), custom.welcome()]);
        assert.deepEqual(v1, { id: root.socket.id, nsp: "/", auth: { token: "again" } });
        assert.deepEqual(v2, { id: custom.socket.id, nsp: "/custom", auth: {} });
        assert.notEqual(v1.id, w1.id, "new socket id on the new server");
        assert.notEqual(v2.id, w2.id, "new socket id on the new server");
        assert.ok(root.reconnects >= 1, `Manager "reconnect" event\n  ${root.history()}`);
        assertSameArgs(await root.ack("ack", Buffer.from("back")), [Buffer.from("back")], "ack after reconnection");
        custom.socket.emit("echo", "back");
        assert.deepEqual(await custom.next("echo"), ["back"]);
      });
    }
  });
});
