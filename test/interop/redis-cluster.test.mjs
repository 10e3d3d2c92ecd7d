// Interop test of the sharded Redis adapter on a real Redis Cluster: the sio C++ test server (C,
// test/sio_test_server.cpp with --redis-sharded-port, given one node: it reads the slot map itself) and a
// Node socket.io 4.8 server with the official @socket.io/redis-adapter 8.3 `createShardedAdapter` over the
// redis package's cluster client, `createCluster` (N, support/node_peer.mjs with REDIS_CLUSTER_PORTS), share
// one Redis Cluster of three masters and must behave as one cluster, in Node's default subscription mode
// (dynamic) with JSON. Clients are the official socket.io-client 4.8, one on each server. Checked: the server
// count (2 on each side), broadcasts to everyone both ways, a room broadcast whose channel lives on another
// master than the namespace channel, fetches from each side, server-side events with acks both ways.
//
// One cluster and one pair of servers for the whole file (a Redis Cluster takes a second or two to form).
// Synchronisation: every wait is for an event or an ack, bounded by WAIT_MS. The only polls are bounded
// condition waits: the cluster forming, the server count, and the subscribers of a room's channel (a room's
// channel is subscribed asynchronously after the join).
//
// Env: SIO_SERVER (the C++ test server; may contain arguments), REDIS_SERVER, REDIS_CLI (both optional).
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/redis-cluster.test.mjs
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import { createClient } from "redis";
import { splitCommand, startServer } from "./support/server.mjs";
import { findRedisServer } from "./support/redis.mjs";
import { findRedisCli, startRedisCluster } from "./support/redis_cluster.mjs";
import { SocketRecorder } from "./support/client.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const REDIS_BIN = findRedisServer();
const REDIS_CLI = findRedisCli(REDIS_BIN);
const SKIP = !SERVER_CMD
  ? "SIO_SERVER is not set"
  : !REDIS_BIN
    ? "redis-server not found"
    : !REDIS_CLI
      ? "redis-cli not found"
      : false;
const NODE_PEER = fileURLToPath(new URL("./support/node_peer.mjs", import.meta.url));
const WAIT_MS = 5_000;
const READY_MS = 10_000;
const NSP_CHANNEL = "socket.io#/#";

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

describe("sharded adapter on a Redis Cluster of 3 masters: C (sio) and N (Node, createCluster)", { skip: SKIP }, () => {
  const cluster = {};
  const exits = [];

  /** Subscribers of a shard channel on each master, in the order of cluster.ports. */
  const subscribers = (channel) =>
    Promise.all(cluster.nodes.map(async (n) => Number((await n.sendCommand(["PUBSUB", "SHARDNUMSUB", channel]))[1])));

  /** The port of the master serving the slot of `channel` (from CLUSTER SLOTS). */
  async function owner(channel) {
    const slot = Number(await cluster.nodes[0].sendCommand(["CLUSTER", "KEYSLOT", channel]));
    const ranges = await cluster.nodes[0].sendCommand(["CLUSTER", "SLOTS"]);
    const range = ranges.find(([start, end]) => Number(start) <= slot && slot <= Number(end));
    return Number(range[2][1]);
  }

  before(async () => {
    cluster.redis = await startRedisCluster(REDIS_BIN, REDIS_CLI, { masters: 3 });
    cluster.ports = cluster.redis.ports;
    cluster.nodes = cluster.ports.map((p) => {
      const c = createClient({ url: `redis://127.0.0.1:${p}` });
      c.on("error", () => {});
      return c;
    });
    await Promise.all(cluster.nodes.map((c) => c.connect()));
    const { command, args } = splitCommand(SERVER_CMD);
    // C is given the last node only and finds the others in the slot map; N gets every node as a root node.
    [cluster.c, cluster.n] = await Promise.all([
      startServer(command, [...args, "--port", "0", "--redis-sharded-mode", "1", "--redis-sharded-port", String(cluster.ports[2])], {
        name: "C (sio_test_server)",
        onUnexpectedExit: (e) => exits.push({ name: "C", ...e }),
      }),
      startServer(process.execPath, [NODE_PEER], {
        name: "N (node_peer)",
        env: { PORT: "0", REDIS_CLUSTER_PORTS: cluster.ports.join(","), SHARDED_MODE: "dynamic" },
        onUnexpectedExit: (e) => exits.push({ name: "N", ...e }),
      }),
    ]);
    const connect = (server, name) => new Client(io(server.url, { forceNew: true, reconnection: false, transports: ["websocket"] }), name);
    cluster.clientC = connect(cluster.c, "c");
    cluster.clientN = connect(cluster.n, "n");
    await Promise.all([cluster.clientC.next("welcome"), cluster.clientN.next("welcome")]);
    await until("a server count of 2 on both", async () => {
      const [a, b] = await Promise.all([util(cluster.clientC, { op: "count" }), util(cluster.clientN, { op: "count" })]);
      return a.count === 2 && b.count === 2;
    });
  });

  after(async () => {
    cluster.clientC?.dispose();
    cluster.clientN?.dispose();
    for (const s of [cluster.c, cluster.n]) if (s?.alive()) await s.stop().catch(() => {});
    await Promise.all((cluster.nodes ?? []).map((n) => n.disconnect().catch(() => {})));
    await cluster.redis?.stop();
  });

  function test(name, fn) {
    it(name, { timeout: 20_000 }, async (t) => {
      await fn(t);
      assert.deepEqual(exits, [], "no server died");
    });
  }

  test("each side counts 2 servers; the namespace channel has both subscribers, on the master of its slot", async () => {
    const [a, b] = await Promise.all([util(cluster.clientC, { op: "count" }), util(cluster.clientN, { op: "count" })]);
    assert.deepEqual([a.count, b.count], [2, 2]);
    const port = await owner(NSP_CHANNEL);
    const counts = await subscribers(NSP_CHANNEL);
    assert.deepEqual(counts, cluster.ports.map((p) => (p === port ? 2 : 0)), `subscribers of ${NSP_CHANNEL} per master`);
  });

  test("a broadcast from each side reaches the clients of both", async () => {
    const { clientC: c, clientN: n } = cluster;
    await util(c, { op: "emit", event: "from-c", args: [1, "x", { a: [true] }] });
    assert.deepEqual(await c.next("from-c"), [1, "x", { a: [true] }]);
    assert.deepEqual(await n.next("from-c"), [1, "x", { a: [true] }]);
    await util(n, { op: "emit", event: "from-n", args: ["y", null] });
    assert.deepEqual(await n.next("from-n"), ["y", null]);
    assert.deepEqual(await c.next("from-n"), ["y", null]);
  });

  test("a room broadcast across, on a room whose channel lives on another master", async () => {
    const { clientC: c, clientN: n } = cluster;
    const nspOwner = await owner(NSP_CHANNEL);
    let room = null;
    for (let i = 0; room === null && i < 64; ++i) if ((await owner(`${NSP_CHANNEL}room-${i}#`)) !== nspOwner) room = `room-${i}`;
    assert.ok(room, "a room channel on another master than the namespace channel");
    const channel = `${NSP_CHANNEL}${room}#`;
    await c.ack("join", room);
    await n.ack("join", room);
    await until(`both servers subscribed to ${channel}`, async () => (await subscribers(channel)).reduce((x, y) => x + y) === 2, WAIT_MS);
    await util(n, { op: "emit", in: [room], event: "to-room", args: ["from n"] });
    assert.deepEqual(await c.next("to-room"), ["from n"]);
    assert.deepEqual(await n.next("to-room"), ["from n"]);
    await util(c, { op: "emit", in: [room], event: "to-room", args: ["from c"] });
    assert.deepEqual(await n.next("to-room"), ["from c"]);
    assert.deepEqual(await c.next("to-room"), ["from c"]);
  });

  test("fetchSockets / fetch_sockets from each side sees the sockets of both", async () => {
    const { clientC: c, clientN: n } = cluster;
    const want = [c.id, n.id].sort();
    const fromC = await util(c, { op: "fetch" });
    assert.deepEqual(fromC.sockets.map((s) => s.id).sort(), want);
    assert.equal(fromC.answered, 1, "N answered C's fetch");
    const fromN = await util(n, { op: "fetch" });
    assert.deepEqual(fromN.sockets.map((s) => s.id).sort(), want);
    const remoteC = fromN.sockets.find((s) => s.id === c.id);
    assert.ok(remoteC.rooms.includes(c.id), "C's socket as N sees it is in its own room");
  });

  test("serverSideEmit with an ack, both directions", async () => {
    const fromC = await util(cluster.clientC, { op: "server-emit", event: "server-ping", timeout: 2000 });
    assert.deepEqual(firsts(fromC.responses), ["pong from node"]);
    const fromN = await util(cluster.clientN, { op: "server-emit", event: "server-ping", timeout: 2000 });
    assert.deepEqual(firsts(fromN.responses), ["pong"]);
  });

  // Last: a sanitizer's report at exit (a leak) shows as a non-zero exit code.
  test("the sio server exits cleanly on SIGTERM", async () => {
    assert.deepEqual(await cluster.c.stop(), { code: 0, signal: null });
  });
});
