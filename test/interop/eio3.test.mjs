// Interop tests: the official socket.io-client 2.5 (Engine.IO v3, Socket.IO protocol v4; installed under
// the npm alias "socket.io-client-v2") against the sio C++ test server started with --allow-eio3 1
// (engine_options::allow_eio3). What is asserted is what a socket.io 4.8 Node server with
// `allowEIO3: true` makes that client observe: the implicit connection to "/", socket ids
// ("<nsp>#<engine id>" off "/"), a namespace's query as its auth, the error packets, events, acks and
// binary both ways, rooms shared with socket.io-client 4.x, disconnection from either side, reconnection,
// and each transport (polling only, WebSocket only, polling then upgrade). Without the option the server
// refuses the v3 handshake with code 5, "Unsupported protocol version".
//
// Server contract: see the top of sio_test_server.cpp (SIO_SERVER, split on whitespace).
// Synchronisation: every wait is for an event or an ack, bounded by WAIT_MS.
//
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/eio3.test.mjs

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import ioV2 from "socket.io-client-v2";
import { io as ioV4 } from "socket.io-client";
import { splitCommand, startServer, useServer } from "./support/server.mjs";
import { defer, SocketRecorder } from "./support/client.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const SKIP = SERVER_CMD ? false : "SIO_SERVER is not set (path of the Socket.IO test server binary)";

const WAIT_MS = 5_000;
const TEST_TIMEOUT_MS = 15_000;

async function startTestServer({ eio3 = true } = {}) {
  const { command, args } = splitCommand(SERVER_CMD);
  return startServer(command, [...args, ...(eio3 ? ["--allow-eio3", "1"] : []), "--port", "0"]);
}

// The events the test server emits (socket.io-client 2.x has no onAny).
const SERVER_EVENTS = ["welcome", "echo", "asked", "news", "room-event", "burst"];

/** Records what a socket.io-client 2.x socket sees, with bounded waits (SocketRecorder). */
class V2Client extends SocketRecorder {
  constructor(socket) {
    super({ waitMs: WAIT_MS, prefix: `[v2 ${socket.nsp}] `, disconnected: `[v2 ${socket.nsp}] disconnected` });
    this.socket = socket;
    this.log = [];
    this.connects = [];
    this.errors = []; // the data of each "error" (the v4 ERROR packet, a refused namespace)
    this.reconnects = 0;
    this.upgrades = 0;
    const note = (text) => {
      this.log.push(text);
      for (const w of [...this.waiters]) w();
    };
    socket.on("connect", () => {
      this.connects.push(socket.id);
      note(`connect ${socket.id}`);
    });
    socket.on("disconnect", (reason) => {
      this.disconnects.push({ reason });
      note(`disconnect ${reason}`);
    });
    socket.on("error", (data) => {
      this.errors.push(data);
      note(`error ${JSON.stringify(data)}`);
    });
    socket.on("connect_error", (err) => {
      this.connectErrors.push(err);
      note(`connect_error ${err?.message ?? err}`);
    });
    socket.on("reconnect", () => {
      this.reconnects++;
      note("reconnect");
    });
    for (const event of SERVER_EVENTS)
      socket.on(event, (...args) => {
        this.queue(event).push(args);
        note(`event ${event}`);
      });
    socket.io.on("open", () => {
      socket.io.engine.on("upgrade", () => {
        this.upgrades++;
        note("upgrade");
      });
    });
  }
  history() {
    return this.log.join("\n  ");
  }
  connected(opts) {
    return this.until(() => this.socket.connected, "connect", opts);
  }
  /** emit with an ack; resolves with the ack's arguments. */
  ask(...args) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for ${JSON.stringify(args[0])}\n  ${this.history()}`)), WAIT_MS);
      this.socket.emit(...args, (...reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }
}

function v2(t, server, nsp = "/", opts = {}) {
  const socket = ioV2(`${server.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });
  const c = new V2Client(socket);
  defer(t, () => socket.close());
  return c;
}

function v4(t, server, nsp = "/", opts = {}) {
  const socket = ioV4(`${server.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });
  defer(t, () => socket.close());
  return socket;
}

function v4Next(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`v4 client: no ${event}`)), WAIT_MS);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

function v4Ask(socket, ...args) {
  return socket.timeout(WAIT_MS).emitWithAck(...args);
}

const bytes = (x) => Buffer.from(x instanceof ArrayBuffer ? new Uint8Array(x) : x);

describe("socket.io-client 2.5 (Engine.IO v3) against sio with allow_eio3", { skip: SKIP }, () => {
  const server = useServer(() => startTestServer());

  for (const [label, transports] of [
    ["websocket only", ["websocket"]],
    ["polling only", ["polling"]],
  ]) {
    it(`${label}: joins "/" without a CONNECT, events, acks and binary both ways`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const c = v2(t, server, "/", { transports });
      const [welcome] = await c.next("welcome");
      await c.connected();
      assert.equal(c.socket.id, c.socket.io.engine.id, "the id of a v3 socket of / is the Engine.IO id");
      assert.deepEqual(welcome, { id: c.socket.id, nsp: "/", auth: {} });
      assert.equal(c.socket.io.engine.transport.name, transports[0]);

      c.socket.emit("echo", 1, "two", { three: [3] }, null, true);
      assert.deepEqual(await c.next("echo"), [1, "two", { three: [3] }, null, true]);
      assert.deepEqual(await c.ask("ack", "a", { b: 2 }), ["a", { b: 2 }]);

      const blob = Buffer.from([0, 1, 2, 253, 254, 255]);
      c.socket.emit("echo", "bin", blob, { nested: blob });
      const [name, got, obj] = await c.next("echo");
      assert.equal(name, "bin");
      assert.deepEqual(bytes(got), blob);
      assert.deepEqual(bytes(obj.nested), blob);
      const [ackBin] = await c.ask("ack", blob);
      assert.deepEqual(bytes(ackBin), blob);

      // The server asks, the client acknowledges.
      c.socket.on("question", (n, ack) => ack(n + 1, Buffer.from([7])));
      c.socket.emit("ask", "question", 41);
      const [asked] = await c.next("asked");
      assert.equal(asked.error, null);
      assert.equal(asked.args[0], 42);
      assert.equal(c.upgrades, 0);
    });
  }

  it("polling, then the upgrade to WebSocket, with events across it", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const c = v2(t, server, "/", { transports: ["polling", "websocket"] });
    await c.next("welcome");
    await c.until(() => c.upgrades > 0, "upgrade");
    assert.equal(c.socket.io.engine.transport.name, "websocket");
    c.socket.emit("echo", "after upgrade", Buffer.from([9, 8]));
    const [text, buf] = await c.next("echo");
    assert.equal(text, "after upgrade");
    assert.deepEqual(bytes(buf), Buffer.from([9, 8]));
  });

  it("a namespace: its query string is the auth, its socket id is <nsp>#<engine id>", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const c = v2(t, server, "/custom", { transports: ["websocket"], query: { token: "abc", n: "1 2" } });
    const [welcome] = await c.next("welcome");
    await c.connected();
    assert.equal(c.socket.id, `/custom#${c.socket.io.engine.id}`);
    assert.deepEqual(welcome, { id: c.socket.id, nsp: "/custom", auth: { token: "abc", n: "1 2" } });
    assert.deepEqual(await c.ask("ack", "in custom"), ["in custom"]);
    // A dynamic namespace too.
    const d = v2(t, server, "/dyn-7", { transports: ["websocket"] });
    const [w] = await d.next("welcome");
    assert.equal(w.nsp, "/dyn-7");
  });

  it("refusals: the middleware's data, else its message; an unknown namespace", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const bad = v2(t, server, "/custom", { transports: ["websocket"], query: { token: "bad" } });
    await bad.until(() => bad.errors.length > 0, "error");
    assert.deepEqual(bad.errors[0], { reason: "bad token" });
    assert.equal(bad.socket.connected, false);

    const bare = v2(t, server, "/custom", { transports: ["websocket"], query: { token: "bare" } });
    await bare.until(() => bare.errors.length > 0, "error");
    assert.equal(bare.errors[0], "unauthorized");

    const none = v2(t, server, "/nowhere", { transports: ["websocket"] });
    await none.until(() => none.errors.length > 0, "error");
    assert.deepEqual(none.errors[0], { message: "Invalid namespace" });
  });

  it("rooms: a v2 client and a v4 client in one room receive the same broadcast", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const old = v2(t, server, "/", { transports: ["websocket"] });
    await old.next("welcome");
    const polling = v2(t, server, "/", { transports: ["polling"] });
    await polling.next("welcome");
    const cur = v4(t, server, "/", { transports: ["websocket"] });
    await v4Next(cur, "welcome");
    const outside = v2(t, server, "/", { transports: ["websocket"] });
    await outside.next("welcome");

    assert.deepEqual((await old.ask("join", "mix"))[0], [old.socket.id, "mix"].sort());
    await polling.ask("join", "mix");
    await v4Ask(cur, "join", "mix");

    const payload = [{ text: "hello", n: 3 }, Buffer.from([1, 2, 3])];
    const curNews = v4Next(cur, "news");
    cur.emit("to-room", "mix", "news", ...payload);
    for (const c of [old, polling]) {
      const [obj, buf] = await c.next("news");
      assert.deepEqual(obj, payload[0]);
      assert.deepEqual(bytes(buf), payload[1]);
    }
    const [obj, buf] = await curNews;
    assert.deepEqual(obj, payload[0]);
    assert.deepEqual(bytes(buf), payload[1]);

    // The one outside the room got nothing: an ack round trip on it is the barrier.
    await outside.ask("ack", "barrier");
    assert.equal(outside.queue("news").length, 0);

    // A v2 socket's id is a room the v4 client can address.
    cur.emit("to-room", old.socket.id, "news", "direct");
    assert.deepEqual(await old.next("news"), ["direct"]);
  });

  it("disconnect: the client leaves a namespace, the server disconnects a socket", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const watcher = v4(t, server, "/custom", { transports: ["websocket"] });
    await v4Next(watcher, "welcome");
    await v4Ask(watcher, "join", "room-events");

    const c = v2(t, server, "/custom", { transports: ["websocket"] });
    await c.next("welcome");
    const id = c.socket.id;
    const left = new Promise((resolve) => {
      watcher.on("room-event", (kind, room, sid) => {
        if (kind === "leave" && room === id && sid === id) resolve();
      });
    });
    c.socket.close(); // DISCONNECT for /custom; the server's socket leaves its rooms
    await left;

    const d = v2(t, server, "/", { transports: ["websocket"] });
    await d.next("welcome");
    d.socket.emit("disconnect-me", false);
    await d.until(() => d.disconnects.length > 0, "disconnect", { allowDisconnect: true });
    assert.equal(d.disconnects[0].reason, "io server disconnect");
  });

  it("reconnection: a lost connection comes back with a new session", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const c = v2(t, server, "/custom", {
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 20,
      reconnectionDelayMax: 50,
      randomizationFactor: 0,
      query: { token: "again" },
    });
    const [first] = await c.next("welcome");
    c.socket.io.engine.transport.close(); // the connection drops; the Manager reconnects
    await c.until(() => c.reconnects > 0, "reconnect", { allowDisconnect: true });
    const [second] = await c.next("welcome", { allowDisconnect: true });
    assert.notEqual(second.id, first.id);
    assert.equal(second.id, c.socket.id);
    assert.deepEqual(second.auth, { token: "again" });
    assert.equal(c.disconnects[0].reason, "transport close");
    assert.deepEqual(await c.ask("ack", "back"), ["back"]);
  });

  server.itStops();
});

describe("without allow_eio3", { skip: SKIP }, () => {
  const server = useServer(() => startTestServer({ eio3: false }));

  it("the v3 handshake is refused with code 5, and socket.io-client 2.5 cannot connect", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const res = await fetch(`${server.url}/socket.io/?EIO=3&transport=polling`);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { code: 5, message: "Unsupported protocol version" });

    const c = v2(t, server, "/", { transports: ["polling"] });
    await c.until(() => c.connectErrors.length > 0, "connect_error", { allowDisconnect: true });
    assert.equal(c.socket.connected, false);
  });

  server.itStops();
});
