// Interop tests of the sharded Redis adapter: the sio C++ test server (C, test/sio_test_server.cpp with
// --redis-sharded-port) and a Node socket.io 4.8 server with the official @socket.io/redis-adapter 8.3
// `createShardedAdapter` (N, support/node_peer.mjs with SHARDED_MODE) share one redis-server 7 and must
// behave as one cluster, in each subscription mode (static, dynamic, dynamic-private). Clients are the
// official socket.io-client 4.8, one on each server: broadcasts to everyone, to a room, to a socket id,
// remote joins, fetches, disconnects, server-side events with acks and broadcasts with acks, both ways.
//
// Synchronisation: every wait is for an event or an ack, bounded by WAIT_MS. The only polls are bounded
// condition waits: the server count (both servers must count 2), and in the dynamic modes the number of
// subscribers of a room's channel (a room's channel is subscribed asynchronously after the join).
//
// Env: SIO_SERVER (the C++ test server; may contain arguments), REDIS_SERVER (optional).
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/redis-sharded.test.mjs
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import { createClient } from "redis";
import { splitCommand, startServer } from "./support/server.mjs";
import { findRedisServer, startRedis } from "./support/redis.mjs";
import { defer, SocketRecorder } from "./support/client.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const REDIS_BIN = findRedisServer();
const SKIP = !SERVER_CMD ? "SIO_SERVER is not set" : !REDIS_BIN ? "redis-server not found" : false;
const NODE_PEER = fileURLToPath(new URL("./support/node_peer.mjs", import.meta.url));
const WAIT_MS = 5_000;
const READY_MS = 15_000;
const MODES = { static: 0, dynamic: 1, "dynamic-private": 2 };

class Client extends SocketRecorder {
  constructor(socket, name) {
    super({ waitMs: WAIT_MS, prefix: `${name}: `, disconnected: `${name}: disconnected` });
    this.socket = socket;
    this.name = name;
    socket.on("disconnect", (reason) => {
      this.disconnects.push({ reason });
      for (const w of [...this.waiters]) w();
    });
    socket.onAny((event, ...args) => {
      this.queue(event).push(args);
      for (const w of [...this.waiters]) w();
    });
  }
  get id() {
    return this.socket.id;
  }
  ack(event, ...args) {
    return this.socket.timeout(WAIT_MS).emitWithAck(event, ...args);
  }
  dispose() {
    this.socket.offAny();
    this.socket.disconnect();
  }
}

async function client(t, server, name) {
  const c = new Client(io(server.url, { forceNew: true, reconnection: false, transports: ["websocket"] }), name);
  defer(t, () => c.dispose());
  await c.next("welcome");
  return c;
}

async function util(c, request) {
  const answer = await c.ack("util", request);
  assert.equal(answer?.error ?? null, null, `${c.name}: util ${JSON.stringify(request)} answered ${JSON.stringify(answer)}`);
  return answer;
}

/** sio_test_server answers each response as its argument list, node_peer as its first value. */
const firsts = (responses) => responses.map((r) => (Array.isArray(r) ? r[0] : r));

async function until(what, pred, ms = READY_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await pred();
    if (got) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const [mode, modeNumber] of Object.entries(MODES)) {
  describe(`sharded adapter, subscription mode ${mode}: C (sio) and N (Node) on one Redis`, { skip: SKIP }, () => {
    const cluster = {};
    const exits = [];

    before(async () => {
      cluster.redis = await startRedis(REDIS_BIN);
      const { command, args } = splitCommand(SERVER_CMD);
      [cluster.c, cluster.n] = await Promise.all([
        startServer(command, [...args, "--port", "0", "--redis-sharded-mode", String(modeNumber), "--redis-sharded-port", String(cluster.redis.port)], {
          name: "C (sio_test_server)",
          onUnexpectedExit: (e) => exits.push({ name: "C", ...e }),
        }),
        startServer(process.execPath, [NODE_PEER], {
          name: "N (node_peer)",
          env: { PORT: "0", REDIS_PORT: String(cluster.redis.port), SHARDED_MODE: mode },
          onUnexpectedExit: (e) => exits.push({ name: "N", ...e }),
        }),
      ]);
      cluster.pub = createClient({ url: `redis://127.0.0.1:${cluster.redis.port}` });
      cluster.pub.on("error", () => {});
      await cluster.pub.connect();
      cluster.controlC = new Client(io(cluster.c.url, { forceNew: true, reconnection: false, transports: ["websocket"] }), "control@C");
      cluster.controlN = new Client(io(cluster.n.url, { forceNew: true, reconnection: false, transports: ["websocket"] }), "control@N");
      await Promise.all([cluster.controlC.next("welcome"), cluster.controlN.next("welcome")]);
      await until("a server count of 2 on both", async () => {
        const [a, b] = await Promise.all([util(cluster.controlC, { op: "count" }), util(cluster.controlN, { op: "count" })]);
        return a.count === 2 && b.count === 2;
      });
    });

    after(async () => {
      cluster.controlC?.dispose();
      cluster.controlN?.dispose();
      for (const s of [cluster.c, cluster.n]) if (s?.alive()) await s.stop().catch(() => {});
      await cluster.pub?.disconnect().catch(() => {});
      await cluster.redis?.kill();
    });

    /** In the dynamic modes, waits until `servers` subscribe to the room's channel. */
    async function roomChannel(room, servers = 1) {
      if (mode === "static") return;
      const channel = `socket.io#/#${room}#`;
      await until(`${servers} subscribers on ${channel}`, async () => {
        const r = await cluster.pub.sendCommand(["PUBSUB", "SHARDNUMSUB", channel]);
        return Number(r[1]) === servers;
      });
    }

    function test(name, fn) {
      it(name, { timeout: 30_000 }, async (t) => {
        await fn(t);
        assert.deepEqual(exits, [], "no server died");
      });
    }

    test("the namespace and response channels are sharded channels, one subscriber each", async () => {
      const main = await cluster.pub.sendCommand(["PUBSUB", "SHARDNUMSUB", "socket.io#/#"]);
      assert.equal(Number(main[1]), 2);
      const classic = await cluster.pub.sendCommand(["PUBSUB", "NUMSUB", "socket.io-request#/#"]);
      assert.equal(Number(classic[1]), 0, "no classic channel");
    });

    test("broadcasts to everyone, both ways", async (t) => {
      const c = await client(t, cluster.c, "c");
      const n = await client(t, cluster.n, "n");
      await util(c, { op: "emit", in: [c.id, n.id], event: "from-c", args: [1, "x", { a: [true] }] });
      assert.deepEqual(await c.next("from-c"), [1, "x", { a: [true] }]);
      assert.deepEqual(await n.next("from-c"), [1, "x", { a: [true] }]);
      await util(n, { op: "emit", in: [c.id, n.id], event: "from-n", args: [Buffer.from([1, 2, 3])] });
      const [bin] = await c.next("from-n");
      assert.deepEqual(Buffer.from(bin), Buffer.from([1, 2, 3]));
      await n.next("from-n");
    });

    test("a room, and a socket id, both ways", async (t) => {
      const c = await client(t, cluster.c, "c");
      const n = await client(t, cluster.n, "n");
      const roomC = `room-c-${mode}`;
      const roomN = `room-n-${mode}`;
      await c.ack("join", roomC);
      await n.ack("join", roomN);
      await roomChannel(roomC);
      await roomChannel(roomN);
      await util(n, { op: "emit", in: [roomC], event: "to-room", args: ["from n"] });
      assert.deepEqual(await c.next("to-room"), ["from n"]);
      await util(c, { op: "emit", in: [roomN], event: "to-room", args: ["from c"] });
      assert.deepEqual(await n.next("to-room"), ["from c"]);
      if (mode === "dynamic-private") {
        await roomChannel(c.id);
        await roomChannel(n.id);
      }
      await util(n, { op: "emit", in: [c.id], event: "to-sid", args: ["from n"] });
      assert.deepEqual(await c.next("to-sid"), ["from n"]);
      await util(c, { op: "emit", in: [n.id], event: "to-sid", args: ["from c"] });
      assert.deepEqual(await n.next("to-sid"), ["from c"]);
    });

    test("remote join, fetch and disconnect, both ways", async (t) => {
      const c = await client(t, cluster.c, "c");
      const n = await client(t, cluster.n, "n");
      const room = `joined-${mode}`;
      await util(c, { op: "join", in: [n.id], rooms: [room] });
      await util(n, { op: "join", in: [c.id], rooms: [room] });
      await roomChannel(room, 2);
      // Node applies and publishes socketsJoin after its util ack: wait until both joins are in place.
      await until("both sockets in the room", async () => (await util(c, { op: "fetch", in: [room] })).sockets.length === 2, WAIT_MS);
      const fromC = await util(c, { op: "fetch", in: [room] });
      assert.deepEqual(fromC.sockets.map((s) => s.id).sort(), [c.id, n.id].sort());
      const fromN = await util(n, { op: "fetch", in: [room] });
      assert.deepEqual(fromN.sockets.map((s) => s.id).sort(), [c.id, n.id].sort());
      const remoteC = fromN.sockets.find((s) => s.id === c.id);
      assert.ok(remoteC.rooms.includes(room));
      await util(n, { op: "emit", in: [room], event: "both", args: [] });
      await c.next("both");
      await n.next("both");
      await util(c, { op: "disconnect", in: [n.id], close: false });
      await n.until(() => n.disconnects.length > 0, "disconnect", { allowDisconnect: true });
      assert.equal(n.disconnects[0].reason, "io server disconnect");
    });

    test("server-side events with acks, both ways", async () => {
      const fromC = await util(cluster.controlC, { op: "server-emit", event: "server-ping", timeout: 2000 });
      assert.deepEqual(firsts(fromC.responses), ["pong from node"]);
      const fromN = await util(cluster.controlN, { op: "server-emit", event: "server-ping", timeout: 2000 });
      assert.deepEqual(firsts(fromN.responses), ["pong"]);
    });

    test("broadcasts with acks across both servers, both ways", async (t) => {
      const c = await client(t, cluster.c, "c");
      const n = await client(t, cluster.n, "n");
      c.socket.on("question", (cb) => cb("c says"));
      n.socket.on("question", (cb) => cb("n says"));
      for (const asker of [c, n]) {
        const answer = await util(asker, { op: "ask-all", in: [c.id, n.id], event: "question", timeout: 3000 });
        assert.deepEqual(firsts(answer.responses).sort(), ["c says", "n says"], `asked by ${asker.name}`);
      }
    });
  });
}
