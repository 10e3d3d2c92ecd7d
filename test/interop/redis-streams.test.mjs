// Interop tests of the Redis streams adapter: the sio C++ test server (C, test/sio_test_server.cpp with
// --redis-streams-port and --recovery) and a Node socket.io 4.8 server with the official
// @socket.io/redis-streams-adapter 0.3.1 and connection state recovery (N, support/node_streams_peer.mjs)
// share one redis-server and must behave as one cluster. Clients are the official socket.io-client 4.8.
// A client dropped from one server recovers on the other (both ways): the same id, rooms and data, and the
// events it missed, each with its stream entry id as the offset.
//
// One redis-server (started here on a free loopback port, no persistence), one C and one N for the main
// suite; the useShardedPubSub suite (requests over SPUBLISH) starts its own three.
// Every test scopes its sockets with rooms of its own. Synchronisation: every wait is for an event, an
// ack or a state of Redis, bounded by WAIT_MS; the only polls are bounded condition waits (the server
// count, a key or an entry appearing in Redis).
//
// Env: SIO_SERVER (the C++ test server), REDIS_SERVER (optional). Skipped with a message when either is
// missing. Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/redis-streams.test.mjs

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import { createClient } from "redis";
import { splitCommand, startServer } from "./support/server.mjs";
import { findRedisServer, startRedis } from "./support/redis.mjs";
import { defer } from "./support/client.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const REDIS_BIN = findRedisServer();
const SKIP = !SERVER_CMD
  ? "SIO_SERVER is not set (path of the Socket.IO test server binary)"
  : !REDIS_BIN
    ? "redis-server not found (install redis-server, or set REDIS_SERVER)"
    : false;

const NODE_PEER = fileURLToPath(new URL("./support/node_streams_peer.mjs", import.meta.url));
const WAIT_MS = 5_000;
const TEST_TIMEOUT_MS = 30_000;
const RECOVERY_MS = 60_000;

const cluster = { redis: null, c: null, n: null, raw: null, controlC: null, controlN: null };

/** A client that records every event (name and arguments) and wakes its waiters. */
class Recorder {
  constructor(url, name, opts = {}) {
    this.name = name;
    this.events = [];
    this.waiters = new Set();
    this.socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, ...opts });
    this.socket.onAny((event, ...args) => this.note([event, ...args]));
    this.socket.on("connect", () => this.note(["(connect)"]));
    this.socket.on("disconnect", (reason) => this.note(["(disconnect)", reason]));
    this.socket.on("connect_error", (err) => this.note(["(connect_error)", err.message]));
  }
  note(e) {
    this.events.push(e);
    for (const w of [...this.waiters]) w();
  }
  /** Resolves with the first recorded event at index >= from whose name is `name`. */
  waitFor(name, from = 0) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.events.findIndex((e, k) => k >= from && e[0] === name);
        if (i >= 0) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(this.events[i]);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.name}: timed out waiting for ${name}; saw ${JSON.stringify(this.events).slice(0, 2000)}`));
      }, WAIT_MS);
      this.waiters.add(check);
      check();
    });
  }
  ask(...args) {
    return this.socket.timeout(WAIT_MS).emitWithAck(...args);
  }
  async util(request) {
    const answer = await this.ask("util", request);
    assert.equal(answer?.error ?? null, null, `${this.name}: util ${JSON.stringify(request)} answered ${JSON.stringify(answer)}`);
    return answer;
  }
}

async function client(t, server, name, rooms = []) {
  const c = new Recorder(server.url, name);
  defer(t, () => c.socket.disconnect());
  await c.waitFor("welcome");
  for (const r of rooms) await c.ask("join", r);
  return c;
}

/** Polls `probe` (async) until it returns a truthy value, within WAIT_MS. */
async function until(probe, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves once the stream holds an entry whose data mentions `text`. */
function inStream(text) {
  return until(async () => (await cluster.raw.xRange("socket.io", "-", "+")).some((e) => (e.message.data ?? "").includes(text)), `an entry with ${text}`);
}

const bytes = (v) => [...new Uint8Array(v)];
/** The answers of a request: sio lists each answer's arguments, Node the first argument. */
const answers = (list) => list.map((r) => (Array.isArray(r) ? r[0] : r)).sort();
const names = (events) => events.map((e) => e[0]);

describe("redis streams adapter: sio and Node in one cluster", { skip: SKIP, timeout: 120_000 }, () => {
  before(async () => {
    cluster.redis = await startRedis(REDIS_BIN);
    const port = String(cluster.redis.port);
    const { command, args } = splitCommand(SERVER_CMD);
    cluster.c = await startServer(command, [...args, "--port", "0", "--redis-streams-port", port, "--recovery", String(RECOVERY_MS)], { name: "C" });
    cluster.n = await startServer(process.execPath, [NODE_PEER], {
      name: "N",
      env: { PORT: "0", REDIS_PORT: port, RECOVERY_MS: String(RECOVERY_MS) },
    });
    cluster.raw = createClient({ url: `redis://127.0.0.1:${port}` });
    cluster.raw.on("error", () => {});
    await cluster.raw.connect();
    cluster.controlC = new Recorder(cluster.c.url, "controlC");
    cluster.controlN = new Recorder(cluster.n.url, "controlN");
    await Promise.all([cluster.controlC.waitFor("welcome"), cluster.controlN.waitFor("welcome")]);
    await until(async () => {
      const [c, n] = await Promise.all([cluster.controlC.util({ op: "count" }), cluster.controlN.util({ op: "count" })]);
      return c.count === 2 && n.count === 2;
    }, "a server count of 2 on both servers");
  });

  after(async () => {
    cluster.controlC?.socket.disconnect();
    cluster.controlN?.socket.disconnect();
    await cluster.raw?.quit().catch(() => {});
    await cluster.c?.stop().catch(() => {});
    await cluster.n?.stop().catch(() => {});
    await cluster.redis?.kill();
  });

  it("broadcasts cross both ways through the stream, binary, rooms and except included", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const onC = await client(t, cluster.c, "onC", ["b1", "b2"]);
    const onN = await client(t, cluster.n, "onN", ["b1"]);
    const onN2 = await client(t, cluster.n, "onN2", ["b2"]);
    // sio → Node, with binary; each event ends with its offset (recovery is on), the same on both servers.
    await cluster.controlC.util({ op: "emit", in: ["b1"], event: "hello", args: [1, "two", Buffer.from([1, 2, 3]), 1.5] });
    const [gotN, gotC] = await Promise.all([onN.waitFor("hello"), onC.waitFor("hello")]);
    assert.deepEqual(gotN.slice(1, 3), [1, "two"]);
    assert.deepEqual(bytes(gotN[3]), [1, 2, 3]);
    assert.equal(gotN[4], 1.5);
    assert.match(gotN[5], /^[0-9]+-[0-9]+$/);
    assert.equal(gotC[5], gotN[5], "one offset on every server");
    // Node → sio, rooms and except.
    await cluster.controlN.util({ op: "emit", in: ["b2"], except: ["b1"], event: "only-b2", args: [Buffer.from([9])] });
    const [onlyB2] = await Promise.all([onN2.waitFor("only-b2")]);
    assert.deepEqual(bytes(onlyB2[1]), [9]);
    await cluster.controlN.util({ op: "emit", in: ["b1", "b2"], event: "fence", args: [] });
    await Promise.all([onC.waitFor("fence"), onN.waitFor("fence"), onN2.waitFor("fence")]);
    assert.deepEqual(names(onC.events).filter((n) => n === "only-b2"), [], "except b1 left out the sio socket");
    await cluster.controlN.util({ op: "emit", in: ["b1"], event: "from-node", args: [{ a: [1, null] }] });
    const fromNode = await onC.waitFor("from-node");
    assert.deepEqual(fromNode[1], { a: [1, null] });
    assert.match(fromNode[2], /^[0-9]+-[0-9]+$/);
  });

  it("utility methods work across the two servers", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const onC = await client(t, cluster.c, "onC", ["u1"]);
    const onN = await client(t, cluster.n, "onN", ["u1"]);
    await onN.ask("set-data", { who: "node client" });
    // Fetch from each side sees the other's socket.
    const fromC = await cluster.controlC.util({ op: "fetch", in: ["u1"] });
    assert.deepEqual(fromC.sockets.map((s) => s.id).sort(), [onC.socket.id, onN.socket.id].sort());
    assert.deepEqual(fromC.sockets.find((s) => s.id === onN.socket.id).data, { who: "node client" });
    const fromN = await cluster.controlN.util({ op: "fetch", in: ["u1"] });
    assert.deepEqual(fromN.sockets.map((s) => s.id).sort(), [onC.socket.id, onN.socket.id].sort());
    // Join and leave from sio reach Node's socket (through the stream), and the other way round.
    await cluster.controlC.util({ op: "join", in: ["u1"], rooms: ["u2"] });
    await until(async () => (await cluster.controlN.util({ op: "fetch", in: ["u2"], local: true })).sockets.length === 1, "the Node socket in u2");
    await cluster.controlN.util({ op: "leave", in: ["u2"], rooms: ["u2"] });
    await until(async () => (await cluster.controlC.util({ op: "fetch", in: ["u2"] })).sockets.length === 0, "nobody left in u2");
    // Server-side events with acknowledgements, both ways.
    const toNode = await cluster.controlC.util({ op: "server-emit", event: "server-ping", args: [], timeout: 2000 });
    assert.deepEqual(answers(toNode.responses), ["pong from node"]);
    const toSio = await cluster.controlN.util({ op: "server-emit", event: "server-ping", args: [], timeout: 2000 });
    assert.deepEqual(answers(toSio.responses), ["pong"]);
    // A broadcast with acknowledgements from sio gets Node's client's answer (pub/sub).
    onN.socket.on("question", (x, ack) => ack(`node says ${x}`));
    onC.socket.on("question", (x, ack) => ack(`sio says ${x}`));
    const asked = await cluster.controlC.util({ op: "ask-all", in: ["u1"], event: "question", args: [7] });
    assert.deepEqual(answers(asked.responses), ["node says 7", "sio says 7"]);
    const askedN = await cluster.controlN.util({ op: "ask-all", in: ["u1"], event: "question", args: [8] });
    assert.deepEqual(answers(askedN.responses), ["node says 8", "sio says 8"]);
    // Disconnect from Node: the sio socket goes.
    await cluster.controlN.util({ op: "disconnect", in: [onC.socket.id], close: false });
    const [, reason] = await onC.waitFor("(disconnect)");
    assert.equal(reason, "io server disconnect");
  });

  for (const [from, to] of [
    ["n", "c"],
    ["c", "n"],
  ]) {
    const label = { c: "sio", n: "Node" };
    it(`a client dropped from ${label[from]} recovers on ${label[to]} with what it missed`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const src = cluster[from];
      const dst = cluster[to];
      const a = await client(t, src, "a", ["rec"]);
      await a.ask("set-data", { user: "ann" });
      const id = a.socket.id;
      const pid = a.socket._pid;
      assert.equal(typeof pid, "string");
      // An event, for an offset: from the destination server, through the stream.
      const controlDst = to === "c" ? cluster.controlC : cluster.controlN;
      const controlSrc = from === "c" ? cluster.controlC : cluster.controlN;
      await controlDst.util({ op: "emit", in: ["rec"], event: "seen", args: [0] });
      await a.waitFor("seen");
      const offset = a.socket._lastOffset;
      assert.match(offset, /^[0-9]+-[0-9]+$/);

      a.socket.io.engine.close();
      await a.waitFor("(disconnect)");
      // The source server saved the session in Redis.
      await until(async () => (await cluster.raw.exists(`sio:session:${pid}`)) === 1, "the saved session");
      const ttl = await cluster.raw.pTTL(`sio:session:${pid}`);
      assert.ok(ttl > RECOVERY_MS - 10_000 && ttl <= RECOVERY_MS, `expiry in ms: ${ttl}`);

      // Missed while away, from both servers.
      await controlSrc.util({ op: "emit", in: ["rec"], event: "m-room", args: [1] });
      await controlDst.util({ op: "emit", in: ["other-room"], event: "m-other", args: [2] });
      await controlDst.util({ op: "emit", in: [id], event: "m-direct", args: [3] });
      await inStream("m-room");
      await inStream("m-direct");

      // The same client comes back through the other server.
      const b = new Recorder(dst.url, "b", { autoConnect: false });
      defer(t, () => b.socket.disconnect());
      b.socket._pid = pid;
      b.socket._lastOffset = offset;
      b.socket.connect();
      await b.waitFor("(connect)");
      assert.equal(b.socket.recovered, true);
      assert.equal(b.socket.id, id);
      const missed = b.events.filter((e) => e[0].startsWith("m-"));
      assert.deepEqual(missed.map((e) => e[0]).sort(), ["m-direct", "m-room"]);
      for (const e of missed) assert.match(e[e.length - 1], /^[0-9]+-[0-9]+$/, "each replayed event ends with its offset");
      const welcome = await b.waitFor("welcome");
      assert.equal(welcome[1].recovered, true);
      assert.deepEqual(welcome[1].data, { user: "ann" });
      const rooms = await b.ask("join", "rec2");
      assert.deepEqual([...rooms].sort(), [id, "rec", "rec2"].sort());
      // Consumed, as Node consumes it.
      assert.equal(await cluster.raw.exists(`sio:session:${pid}`), 0);
    });
  }
});

describe("redis streams adapter with useShardedPubSub: sio and Node in one cluster", { skip: SKIP, timeout: 60_000 }, () => {
  const sharded = { redis: null, c: null, n: null, raw: null, controlC: null, controlN: null };
  before(async () => {
    sharded.redis = await startRedis(REDIS_BIN);
    const port = String(sharded.redis.port);
    const { command, args } = splitCommand(SERVER_CMD);
    sharded.c = await startServer(command, [...args, "--port", "0", "--redis-streams-sharded", "1", "--redis-streams-port", port], { name: "C" });
    sharded.n = await startServer(process.execPath, [NODE_PEER], { name: "N", env: { PORT: "0", REDIS_PORT: port, SHARDED: "1" } });
    sharded.raw = createClient({ url: `redis://127.0.0.1:${port}` });
    sharded.raw.on("error", () => {});
    await sharded.raw.connect();
    sharded.controlC = new Recorder(sharded.c.url, "controlC");
    sharded.controlN = new Recorder(sharded.n.url, "controlN");
    await Promise.all([sharded.controlC.waitFor("welcome"), sharded.controlN.waitFor("welcome")]);
  });

  after(async () => {
    sharded.controlC?.socket.disconnect();
    sharded.controlN?.socket.disconnect();
    await sharded.raw?.quit().catch(() => {});
    await sharded.c?.stop().catch(() => {});
    await sharded.n?.stop().catch(() => {});
    await sharded.redis?.kill();
  });

  it("requests and answers cross both ways over SPUBLISH, the server count from SHARDNUMSUB", { timeout: TEST_TIMEOUT_MS }, async () => {
    await until(async () => {
      const [c, n] = await Promise.all([sharded.controlC.util({ op: "count" }), sharded.controlN.util({ op: "count" })]);
      return c.count === 2 && n.count === 2;
    }, "a server count of 2 on both servers");
    const fromC = await sharded.controlC.util({ op: "fetch" });
    assert.deepEqual(fromC.sockets.map((s) => s.id).sort(), [sharded.controlC.socket.id, sharded.controlN.socket.id].sort());
    const fromN = await sharded.controlN.util({ op: "fetch" });
    assert.deepEqual(fromN.sockets.map((s) => s.id).sort(), [sharded.controlC.socket.id, sharded.controlN.socket.id].sort());
    const toNode = await sharded.controlC.util({ op: "server-emit", event: "server-ping", args: [], timeout: 2000 });
    assert.deepEqual(answers(toNode.responses), ["pong from node"]);
    const toSio = await sharded.controlN.util({ op: "server-emit", event: "server-ping", args: [], timeout: 2000 });
    assert.deepEqual(answers(toSio.responses), ["pong"]);
    assert.ok((await sharded.raw.sendCommand(["PUBSUB", "SHARDCHANNELS"])).includes("socket.io#/#"));
    assert.deepEqual(await sharded.raw.sendCommand(["PUBSUB", "CHANNELS"]), []);
  });
});
