// Interop tests of the msgpack parser: the official socket.io-client (4.8.x) with socket.io-msgpack-parser
// (3.0.x, the parser of the socket.io.msgpack.min.js bundle) against the sio test server started with
// `--parser msgpack` (test/sio_test_server.cpp describes its events). What is asserted is what a
// socket.io 4.8 Node server with the same parser makes the client observe.
//
// Synchronisation: every wait is for an event, an ack or a disconnect, bounded by WAIT_MS.
//
// The last suite runs a cluster of two sio servers on one redis-server (REDIS_SERVER, else redis-server on
// PATH; skipped with a message without one), one with each parser: the Redis adapter carries events, not
// encoded packets, so their clients talk to each other.
//
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/msgpack.test.mjs

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import parser from "socket.io-msgpack-parser";
import { splitCommand, startServer, withTimeout } from "./support/server.mjs";
import { findRedisServer, startRedis } from "./support/redis.mjs";
import { allBytes, assertSameArgs, patternBytes } from "./support/values.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const SKIP = SERVER_CMD ? false : "SIO_SERVER is not set (path of the Socket.IO test server binary, e.g. build/debug/test/sio_test_server)";

const WAIT_MS = 5_000;
const TEST_TIMEOUT_MS = 15_000;

let server;

async function startTestServer(extra = []) {
  const { command, args } = splitCommand(SERVER_CMD);
  return startServer(command, [...args, "--port", "0", ...extra]);
}

/** A connected msgpack client; closed when the test ends. */
async function connect(t, path = "/", options = {}) {
  const socket = io(server.url + path, { parser, forceNew: true, reconnection: false, ...options });
  t.after(() => socket.close());
  const [welcome] = await once(socket, "welcome");
  assert.equal(socket.connected, true);
  return { socket, welcome };
}

/** The arguments of the next `event` on `socket`, or a failure after WAIT_MS. */
function once(socket, event, what = event) {
  return withTimeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), WAIT_MS, what);
}

describe("msgpack parser: socket.io-client with socket.io-msgpack-parser", { skip: SKIP, timeout: TEST_TIMEOUT_MS * 10 }, () => {
  before(async () => {
    server = await startTestServer(["--parser", "msgpack"]);
  });
  after(async () => {
    await server?.stop();
  });

  for (const transports of [["websocket"], ["polling"]]) {
    it(`connects and echoes events both ways (${transports[0]})`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const { socket, welcome } = await connect(t, "/", { transports, auth: { token: "ok", n: [1, 2.5] } });
      assert.equal(welcome.id, socket.id);
      assert.equal(welcome.nsp, "/");
      assert.deepEqual(welcome.auth, { token: "ok", n: [1, 2.5] });
      const args = ["text", 42, -7, 1.5, 5_000_000_000, true, null, { nested: { a: [1, "two", false] } }, "é😀"];
      socket.emit("echo", ...args);
      assertSameArgs(await once(socket, "echo"), args, "echoed arguments");
    });
  }

  it("acknowledges both ways", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { socket } = await connect(t);
    const answer = await withTimeout(socket.emitWithAck("ack", "a", 1, { b: [2] }), WAIT_MS, "ack");
    assert.deepEqual(answer, "a"); // emitWithAck resolves with the first argument
    const all = await withTimeout(new Promise((resolve) => socket.emit("ack", "x", 2, (...r) => resolve(r))), WAIT_MS, "ack with several arguments");
    assert.deepEqual(all, ["x", 2]);
    // The server asks, the client answers.
    socket.on("question", (n, cb) => cb(n + 1, "answer"));
    socket.emit("ask", "question", 41);
    const [asked] = await once(socket, "asked");
    assert.deepEqual(asked, { error: null, args: [42, "answer"] });
  });

  it("carries binary data inline, both ways", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { socket } = await connect(t);
    const big = patternBytes(300_000, 3);
    socket.emit("echo", "bin", allBytes(), { inner: [Buffer.from([1, 2, 3])] }, new Uint8Array([9, 8, 7]), big);
    const got = await once(socket, "echo");
    assertSameArgs(got, ["bin", allBytes(), { inner: [Buffer.from([1, 2, 3])] }, Buffer.from([9, 8, 7]), big]);
    // Binary in an acknowledgement.
    const back = await withTimeout(new Promise((resolve) => socket.emit("ack", Buffer.from("ab"), (b) => resolve(b))), WAIT_MS, "binary ack");
    assertSameArgs([back], [Buffer.from("ab")]);
  });

  it("serves namespaces", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { socket, welcome } = await connect(t, "/custom");
    assert.equal(welcome.nsp, "/custom");
    socket.emit("echo", "in custom");
    assert.deepEqual(await once(socket, "echo"), ["in custom"]);
    const { welcome: dyn } = await connect(t, "/dyn-12");
    assert.equal(dyn.nsp, "/dyn-12");
    // A namespace that does not exist: CONNECT_ERROR "Invalid namespace".
    const stray = io(server.url + "/nowhere", { parser, forceNew: true, reconnection: false });
    t.after(() => stray.close());
    const [err] = await once(stray, "connect_error");
    assert.equal(err.message, "Invalid namespace");
  });

  it("reports a middleware's refusal as CONNECT_ERROR with its data", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const socket = io(server.url, { parser, forceNew: true, reconnection: false, auth: { token: "bad" } });
    t.after(() => socket.close());
    const [err] = await once(socket, "connect_error");
    assert.equal(err.message, "unauthorized");
    assert.deepEqual(err.data, { reason: "bad token" });
    assert.equal(socket.connected, false);
  });

  it("broadcasts to rooms and to everyone else", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { socket: a } = await connect(t);
    const { socket: b } = await connect(t);
    const { socket: c } = await connect(t);
    for (const s of [a, b])
      assert.deepEqual(await withTimeout(s.emitWithAck("join", "r"), WAIT_MS, "join"), [s.id, "r"].sort());
    const toB = once(b, "news", "news to b");
    const toA = once(a, "news", "news to a");
    c.emit("to-room", "r", "news", 1, Buffer.from([5]));
    assertSameArgs(await toA, [1, Buffer.from([5])]);
    assertSameArgs(await toB, [1, Buffer.from([5])]);
    // socket.broadcast: everyone but the sender.
    const others = [once(b, "all", "all to b"), once(c, "all", "all to c")];
    a.emit("broadcast", "all", "from a");
    for (const p of others) assert.deepEqual(await p, ["from a"]);
  });

  it("closes a connection that sends malformed msgpack or a text packet, not the others", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { socket: bystander } = await connect(t);
    for (const bad of [Buffer.from([0xc1]), Buffer.from([0x92, 0x01]), "2[\"echo\",1]"]) {
      const { socket } = await connect(t, "/", { transports: ["websocket"] });
      const closed = once(socket, "disconnect", "disconnect after a bad packet");
      socket.io.engine.write(bad);
      const [reason] = await closed;
      assert.equal(reason, "transport close");
    }
    bystander.emit("echo", "still here");
    assert.deepEqual(await once(bystander, "echo"), ["still here"]);
  });

  it("refuses a client that speaks the JSON parser", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const socket = io(server.url, { forceNew: true, reconnection: false, transports: ["websocket"] });
    t.after(() => socket.close());
    // Its CONNECT is a text message: the server closes the connection.
    await once(socket.io, "close", "the connection closes");
    assert.equal(socket.connected, false);
  });
});

const REDIS = findRedisServer();
const CLUSTER_READY_MS = 10_000;

describe("a cluster of a msgpack-parser server and a JSON-parser server", { skip: SKIP || (REDIS ? false : "redis-server not found (apt-get install redis-server, or set REDIS_SERVER)"), timeout: 60_000 }, () => {
  let redis, msgpackServer, jsonServer;
  before(async () => {
    redis = await startRedis(REDIS);
    msgpackServer = await startTestServer(["--parser", "msgpack", "--redis-port", String(redis.port)]);
    jsonServer = await startTestServer(["--parser", "json", "--redis-port", String(redis.port)]);
  });
  after(async () => {
    await msgpackServer?.stop();
    await jsonServer?.stop();
    await redis?.kill();
  });

  it("broadcasts reach the clients of both servers, binary included", { timeout: 30_000 }, async (t) => {
    const a = io(msgpackServer.url, { parser, forceNew: true, reconnection: false });
    const b = io(jsonServer.url, { forceNew: true, reconnection: false });
    t.after(() => { a.close(); b.close(); });
    await Promise.all([once(a, "welcome"), once(b, "welcome")]);
    // Both servers see each other (the server count is polled, bounded).
    const deadline = Date.now() + CLUSTER_READY_MS;
    for (;;) {
      const [ca, cb] = await Promise.all([a, b].map((s) => withTimeout(s.emitWithAck("util", { op: "count" }), WAIT_MS, "count")));
      if (ca.count === 2 && cb.count === 2) break;
      if (Date.now() > deadline) throw new Error(`the servers did not see each other: ${ca.count}, ${cb.count}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of [a, b]) await withTimeout(s.emitWithAck("join", "mixed"), WAIT_MS, "join");
    // msgpack client -> its server -> Redis -> the JSON server -> the JSON client (and back to itself).
    let toA = once(a, "news", "news to the msgpack client");
    let toB = once(b, "news", "news to the JSON client");
    a.emit("to-room", "mixed", "news", "from msgpack", 1.5, Buffer.from([1, 2, 3]), { n: [true, null] });
    const expectedFromA = ["from msgpack", 1.5, Buffer.from([1, 2, 3]), { n: [true, null] }];
    assertSameArgs(await toA, expectedFromA);
    assertSameArgs(await toB, expectedFromA);
    // And the other way.
    toA = once(a, "news", "news to the msgpack client");
    toB = once(b, "news", "news to the JSON client");
    b.emit("to-room", "mixed", "news", "from json", Buffer.from([4]));
    assertSameArgs(await toA, ["from json", Buffer.from([4])]);
    assertSameArgs(await toB, ["from json", Buffer.from([4])]);
  });
});
