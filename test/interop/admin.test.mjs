// Interop tests of the Admin UI protocol: the official socket.io-client on the admin namespace of a sio
// server instrumented with sio::admin::instrument (test/admin_test_server.cpp), asserting what
// @socket.io/admin-ui 0.5.1 on a Node server sends and does: config, all_sockets, server_stats, the
// per-socket notifications in development mode, the commands and their effect on real client sockets,
// basic authentication with session ids, readonly and production modes, and hostile commands; and a mixed
// cluster: a Node server instrumented with the official package (support/node_admin_peer.mjs) and a sio
// server on one Redis, each admin client seeing both servers, their sockets and their commands.
//
// Synchronisation: every wait is for an event, bounded by WAIT_MS. Commands are not acknowledged (as in
// Node), so their effect is read on the target client. To check that something did NOT happen, a later
// command whose effect is visible serves as a barrier (the server runs one admin socket's commands in
// order); QUIET_MS is used only where no barrier exists (readonly and production modes).
//
// Run: SIO_ADMIN_SERVER=/path/to/admin_test_server node --test test/interop/admin.test.mjs

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { splitCommand, startServer, useServer } from "./support/server.mjs";
import { defer, SocketRecorder } from "./support/client.mjs";
import { findRedisServer, redisCommandLine, startRedis } from "./support/redis.mjs";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SERVER_CMD = (process.env.SIO_ADMIN_SERVER ?? "").trim();
const SKIP = SERVER_CMD ? false : "SIO_ADMIN_SERVER is not set (path of build/debug/test/admin_test_server)";
const REDIS_BIN = findRedisServer();
const SKIP_REDIS = SKIP || (REDIS_BIN ? false : "redis-server not found (REDIS_SERVER or PATH; apt-get install redis-server)");

const NODE_ADMIN_PEER = fileURLToPath(new URL("./support/node_admin_peer.mjs", import.meta.url));
const ADMIN_UI_PACKAGE = fileURLToPath(new URL("../../client/node_modules/@socket.io/admin-ui/package.json", import.meta.url));
const SKIP_MIXED =
  SKIP_REDIS || (existsSync(ADMIN_UI_PACKAGE) ? false : "@socket.io/admin-ui not installed in client/ (tools/deps.sh)");

const WAIT_MS = 5_000;
const TEST_TIMEOUT_MS = 20_000;
const QUIET_MS = 300;

function start(...flags) {
  return async () => {
    const { command, args } = splitCommand(SERVER_CMD);
    return startServer(command, [...args, "--port", "0", ...flags]);
  };
}

/** A client that records every event (including connect_error and disconnect) for bounded waits. */
function connect(t, url, { auth, transports, nsp = "/" } = {}) {
  return record(t, io(url + nsp, { auth, transports, forceNew: true, reconnection: false }), nsp);
}

/** Records what `socket` sees (see connect). */
function record(t, socket, nsp) {
  const rec = new SocketRecorder({ waitMs: WAIT_MS, prefix: `${nsp}: `, disconnected: `${nsp} disconnected` });
  rec.socket = socket;
  rec.order = [];
  socket.onAny((event, ...args) => {
    rec.order.push(event);
    rec.queue(event).push(args);
    for (const w of [...rec.waiters]) w();
  });
  socket.on("connect", () => {
    rec.order.push("connect");
    rec.connected = true;
    for (const w of [...rec.waiters]) w();
  });
  socket.on("connect_error", (err) => {
    rec.connectErrors.push(err);
    for (const w of [...rec.waiters]) w();
  });
  socket.on("disconnect", (reason) => {
    rec.disconnects.push(reason);
    for (const w of [...rec.waiters]) w();
  });
  socket.io.on("open", () => {
    socket.io.engine.on("close", (reason) => {
      rec.engineClosed = reason;
      for (const w of [...rec.waiters]) w();
    });
  });
  rec.history = () => `events: ${JSON.stringify(rec.order)}`;
  defer(t, () => socket.disconnect());
  return rec;
}

async function connected(rec) {
  await rec.until(() => rec.connected, "connect");
  return rec;
}

async function refused(rec) {
  await rec.until(() => rec.connectErrors.length > 0, "connect_error", { allowDisconnect: true });
  return rec.connectErrors[0];
}

async function rooms(rec) {
  return rec.socket.timeout(WAIT_MS).emitWithAck("rooms");
}

const ALL_FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"];

describe("admin ui: development mode, no authentication", { skip: SKIP, timeout: TEST_TIMEOUT_MS * 10 }, () => {
  const server = useServer(start("--server-id", "sio-test"));

  it("sends config then all_sockets, with the sockets already connected", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const user = await connected(connect(t, server.url));
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    const [config] = await admin.next("config");
    assert.deepEqual(config, { supportedFeatures: ALL_FEATURES });
    const [all] = await admin.next("all_sockets");
    const mine = all.find((s) => s.id === user.socket.id);
    assert.ok(mine, `the user's socket is listed: ${JSON.stringify(all)}`);
    assert.equal(mine.nsp, "/");
    assert.equal(mine.clientId, user.socket.io.engine.id.substring(0, 12));
    assert.ok(["polling", "websocket"].includes(mine.transport));
    assert.deepEqual(mine.data, {}); // _admin is not shown
    assert.deepEqual(mine.rooms, [user.socket.id]);
    assert.equal(mine.handshake.address.includes("127.0.0.1"), true);
    assert.equal(typeof mine.handshake.issued, "number");
    assert.equal(typeof mine.handshake.time, "string");
    assert.equal(mine.handshake.query.EIO, "4");
    assert.equal(mine.handshake.headers.host, server.url.replace("http://", ""));
    assert.equal("auth" in mine.handshake, false);
    assert.ok(all.some((s) => s.nsp === "/admin" && s.id === admin.socket.id), "the admin socket is listed too");
    assert.ok(admin.order.indexOf("config") < admin.order.indexOf("all_sockets"));
  });

  it("broadcasts server_stats with the server id and the namespaces", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await connected(connect(t, server.url, { transports: ["polling"] }));
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    const [stats] = await admin.next("server_stats");
    assert.equal(stats.serverId, "sio-test");
    assert.equal(typeof stats.hostname, "string");
    assert.equal(typeof stats.pid, "number");
    assert.equal(typeof stats.uptime, "number");
    assert.ok(stats.clientsCount >= 2, JSON.stringify(stats));
    assert.ok(stats.pollingClientsCount >= 1, JSON.stringify(stats));
    assert.ok(Array.isArray(stats.aggregatedEvents));
    const names = stats.namespaces.map((n) => n.name).sort();
    assert.deepEqual(names, ["/", "/admin", "/chat"]);
    assert.ok(stats.namespaces.find((n) => n.name === "/admin").socketsCount >= 1);
    // Connections are aggregated per second; a later report carries this test's connections.
    let connections = stats.aggregatedEvents.filter((e) => e.type === "rawConnection");
    while (connections.length === 0) {
      const [next] = await admin.next("server_stats");
      connections = next.aggregatedEvents.filter((e) => e.type === "rawConnection");
    }
    assert.equal(connections[0].timestamp % 1000, 0);
    assert.ok(connections[0].count >= 1);
  });

  it("server_stats carries packet and byte counts (from the server's metrics)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    const user = await connected(connect(t, server.url, { transports: ["websocket"] }));
    user.socket.emit("echo", "counted");
    const seen = new Set();
    while (!["packetsIn", "packetsOut", "bytesIn", "bytesOut"].every((type) => seen.has(type))) {
      const [stats] = await admin.next("server_stats");
      for (const e of stats.aggregatedEvents) {
        if (!["packetsIn", "packetsOut", "bytesIn", "bytesOut"].includes(e.type)) continue;
        assert.ok(Number.isInteger(e.count) && e.count > 0, JSON.stringify(e));
        assert.equal(e.timestamp % 1000, 0);
        seen.add(e.type);
      }
    }
  });

  it("socket_updated tells the transport after an upgrade", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    await admin.next("all_sockets");
    const user = await connected(connect(t, server.url, { nsp: "/chat", transports: ["polling", "websocket"] }));
    const [update] = await admin.until(() => admin.queue("socket_updated").find(([u]) => u.id === user.socket.id), "socket_updated");
    assert.deepEqual(update, { id: user.socket.id, nsp: "/chat", transport: "websocket" });
    assert.equal(user.socket.io.engine.transport.name, "websocket");
  });

  it("reports socket_connected, room_joined, events and socket_disconnected", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    await admin.next("all_sockets");
    const user = await connected(connect(t, server.url, { nsp: "/chat" }));
    const [serialized, date] = await admin.until(() => admin.queue("socket_connected").find(([s]) => s.id === user.socket.id), "socket_connected");
    assert.equal(serialized.nsp, "/chat");
    assert.equal(serialized.clientId, user.socket.io.engine.id.substring(0, 12));
    assert.ok(!Number.isNaN(Date.parse(date)));
    const joinedOwn = await admin.until(() => admin.queue("room_joined").find(([, room]) => room === user.socket.id), "room_joined (own room)");
    assert.deepEqual(joinedOwn.slice(0, 3), ["/chat", user.socket.id, user.socket.id]);

    await user.socket.timeout(WAIT_MS).emitWithAck("join", "lobby");
    const joined = await admin.until(() => admin.queue("room_joined").find(([, room]) => room === "lobby"), "room_joined lobby");
    assert.deepEqual(joined.slice(0, 3), ["/chat", "lobby", user.socket.id]);

    user.socket.emit("echo", "hi", Buffer.from([1, 2, 3]));
    const [nsp, id, ev] = await admin.until(() => admin.queue("event_received").find(([, , e]) => e[0] === "echo"), "event_received");
    assert.equal(nsp, "/chat");
    assert.equal(id, user.socket.id);
    assert.equal(ev[1], "hi");
    assert.deepEqual([...ev[2]], [1, 2, 3]); // binary forwarded as binary
    const sent = await admin.until(() => admin.queue("event_sent").find(([, , e]) => e[0] === "echo"), "event_sent");
    assert.deepEqual(sent.slice(0, 2), ["/chat", user.socket.id]);

    const userId = user.socket.id; // the client forgets it on disconnect
    user.socket.disconnect();
    const gone = await admin.until(() => admin.queue("socket_disconnected").find(([, sid]) => sid === userId), "socket_disconnected");
    assert.deepEqual(gone.slice(0, 3), ["/chat", userId, "client namespace disconnect"]);
    await admin.until(() => admin.queue("room_left").find(([, room, sid]) => room === "lobby" && sid === userId), "room_left");
  });

  it("join and leave act on the filtered sockets", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const a = await connected(connect(t, server.url));
    const b = await connected(connect(t, server.url));
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    await admin.next("config");
    admin.socket.emit("join", "/", "vip", a.socket.id);
    await admin.until(() => admin.queue("room_joined").find(([, room, sid]) => room === "vip" && sid === a.socket.id), "room_joined vip");
    assert.deepEqual(await rooms(a), [a.socket.id, "vip"].sort());
    assert.deepEqual(await rooms(b), [b.socket.id]);
    admin.socket.emit("leave", "/", "vip", a.socket.id);
    await admin.until(() => admin.queue("room_left").find(([, room, sid]) => room === "vip" && sid === a.socket.id), "room_left vip");
    assert.deepEqual(await rooms(a), [a.socket.id]);
  });

  it("emit sends to the filtered sockets", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const a = await connected(connect(t, server.url));
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    await admin.next("config");
    admin.socket.emit("emit", "/", a.socket.id, "connect", 0); // a reserved name: refused
    admin.socket.emit("emit", "/", a.socket.id, "hello", 1, { two: 2 });
    const args = await a.next("hello");
    assert.deepEqual(args, [1, { two: 2 }]);
    assert.equal(a.order.includes("connect") && a.order.filter((e) => e === "connect").length, 1);
  });

  // As with Node's disconnectSockets(close): the socket gets a DISCONNECT packet; with close the whole
  // connection ends, so another namespace's socket on it disconnects too.
  it("_disconnect: the client sees io server disconnect; with close its connection ends", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const a = await connected(connect(t, server.url));
    const aChat = await connected(record(t, a.socket.io.socket("/chat"), "/chat"));
    const b = await connected(connect(t, server.url));
    const bChat = await connected(record(t, b.socket.io.socket("/chat"), "/chat"));
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    await admin.next("config");
    admin.socket.emit("_disconnect", "/", false, a.socket.id);
    await a.until(() => a.disconnects.length > 0, "disconnect", { allowDisconnect: true });
    assert.deepEqual(a.disconnects, ["io server disconnect"]);
    assert.deepEqual(await rooms(aChat), [aChat.socket.id], "the connection is still there");
    admin.socket.emit("_disconnect", "/", true, b.socket.id);
    await b.until(() => b.disconnects.length > 0, "disconnect", { allowDisconnect: true });
    assert.deepEqual(b.disconnects, ["io server disconnect"]);
    await bChat.until(() => bChat.disconnects.length > 0, "disconnect of the other namespace", { allowDisconnect: true });
    assert.equal(aChat.disconnects.length, 0);
  });

  it("hostile commands are refused and the server carries on", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const a = await connected(connect(t, server.url));
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    await admin.next("config");
    const huge = "r".repeat(100_000);
    admin.socket.emit("join", "/", huge, a.socket.id); // room name over the cap
    admin.socket.emit("join", "/", "ok-but-filter", huge); // filter over the cap
    admin.socket.emit("join", "/", Array.from({ length: 1000 }, (_, i) => `r${i}`), a.socket.id); // too many rooms
    admin.socket.emit("join", "/nope", "x"); // unknown namespace: not created
    admin.socket.emit("join", { nsp: "/" }, "x", a.socket.id);
    admin.socket.emit("join");
    admin.socket.emit("_disconnect", "/", "yes", a.socket.id); // close must be a boolean
    admin.socket.emit("emit", "/", a.socket.id, 42); // event name must be a string
    admin.socket.emit("emit", "/", a.socket.id, huge);
    admin.socket.emit("join", "/", "barrier", a.socket.id); // valid: its effect orders the others before it
    await admin.until(() => admin.queue("room_joined").find(([, room, sid]) => room === "barrier" && sid === a.socket.id), "room_joined barrier");
    assert.deepEqual(await rooms(a), [a.socket.id, "barrier"].sort());
    assert.equal(a.disconnects.length, 0);
    const nope = await refused(connect(t, server.url, { nsp: "/nope" }));
    assert.equal(nope.message, "Invalid namespace");
  });

  server.itStops();
});

describe("admin ui: basic authentication", { skip: SKIP, timeout: TEST_TIMEOUT_MS * 10 }, () => {
  const server = useServer(start("--auth", "basic"));

  it("refuses missing, wrong and malformed credentials with invalid credentials", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    for (const auth of [
      undefined,
      { username: "admin", password: "wrong" },
      { username: "root", password: "changeit" },
      { username: "admin" },
      { username: 42, password: "changeit" },
      { username: "admin", password: { toString: "changeit" } },
      { username: "admin", password: "changeit".repeat(10_000) },
      { sessionId: "0123456789abcdef" }, // forged
      { sessionId: "../../../etc/passwd", username: "admin", password: "nope" },
      { sessionId: { $ne: null } },
    ]) {
      const err = await refused(connect(t, server.url, { nsp: "/admin", auth }));
      assert.equal(err.message, "invalid credentials", JSON.stringify(auth));
    }
  });

  it("accepts the password, sends the session id after connect, and accepts the session id", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const first = connect(t, server.url, { nsp: "/admin", auth: { username: "admin", password: "changeit" } });
    // As the official UI does: its session listener is registered once connected.
    const seen = new Promise((resolve) => first.socket.once("connect", () => first.socket.on("session", resolve)));
    await connected(first);
    const sessionId = await seen;
    assert.match(sessionId, /^[0-9a-f]{16}$/);
    const [config] = await first.next("config");
    assert.deepEqual(config.supportedFeatures, ALL_FEATURES);
    assert.ok(first.order.indexOf("session") < first.order.indexOf("config"));

    const again = await connected(connect(t, server.url, { nsp: "/admin", auth: { sessionId } }));
    await again.next("config");
    assert.equal(again.queue("session").length, 0, "no new session for a session id");
  });

  it("an unauthenticated client learns nothing: no stats, no sockets", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const intruder = connect(t, server.url, { nsp: "/admin", auth: { username: "admin", password: "x" } });
    await refused(intruder);
    const ok = await connected(connect(t, server.url, { nsp: "/admin", auth: { username: "admin", password: "changeit" } }));
    await ok.next("server_stats"); // stats were broadcast meanwhile
    assert.deepEqual(intruder.order, [], "the refused client got no event");
  });

  server.itStops();
});

describe("admin ui: readonly", { skip: SKIP, timeout: TEST_TIMEOUT_MS * 10 }, () => {
  const server = useServer(start("--readonly", "1"));

  it("lists no command feature and ignores commands", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const a = await connected(connect(t, server.url));
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    const [config] = await admin.next("config");
    assert.deepEqual(config.supportedFeatures, ["AGGREGATED_EVENTS", "ALL_EVENTS"]);
    await admin.next("all_sockets");
    admin.socket.emit("join", "/", "vip", a.socket.id);
    admin.socket.emit("emit", "/", a.socket.id, "hello");
    admin.socket.emit("_disconnect", "/", true, a.socket.id);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    assert.deepEqual(await rooms(a), [a.socket.id]);
    assert.equal(a.queue("hello").length, 0);
    assert.equal(a.disconnects.length, 0);
  });

  server.itStops();
});

describe("admin ui: production mode", { skip: SKIP, timeout: TEST_TIMEOUT_MS * 10 }, () => {
  const server = useServer(start("--production", "1"));

  it("sends config and server_stats, no socket list and no per-socket events", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
    const [config] = await admin.next("config");
    assert.deepEqual(config.supportedFeatures, ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"]);
    const user = await connected(connect(t, server.url));
    user.socket.emit("echo", "hi");
    await user.next("echo");
    await user.socket.timeout(WAIT_MS).emitWithAck("join", "lobby");
    const [stats] = await admin.next("server_stats");
    assert.ok(stats.namespaces.find((n) => n.name === "/"));
    await new Promise((r) => setTimeout(r, QUIET_MS));
    for (const event of ["all_sockets", "socket_connected", "room_joined", "event_received", "event_sent"])
      assert.equal(admin.queue(event).length, 0, event);
    admin.socket.emit("_disconnect", "/", false, user.socket.id); // commands still work
    await user.until(() => user.disconnects.length > 0, "disconnect", { allowDisconnect: true });
    assert.deepEqual(user.disconnects, ["io server disconnect"]);
  });

  server.itStops();
});

describe("admin ui: session ids in Redis, in Node's key format", { skip: SKIP_REDIS, timeout: TEST_TIMEOUT_MS * 10 }, () => {
  const env = {};
  const first = useServer(async () => {
    env.redis = await startRedis(REDIS_BIN);
    return start("--auth", "basic", "--session-redis-port", String(env.redis.port))();
  });
  const second = useServer(async () => start("--auth", "basic", "--session-redis-port", String(env.redis.port))());

  it("a login on one server is known to the other, and so is a key a Node server wrote", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    defer(t, () => env.redis.kill());
    const login = connect(t, first.url, { nsp: "/admin", auth: { username: "admin", password: "changeit" } });
    await connected(login);
    const [sessionId] = await login.next("session");
    // SET is sent without waiting for its reply: read the key until it is there.
    let exists = "";
    for (let i = 0; i < 100 && exists !== ":1"; i++) exists = await redisCommandLine(env.redis.port, `EXISTS socket.io-admin#${sessionId}`);
    assert.equal(exists, ":1");
    const ttl = Number((await redisCommandLine(env.redis.port, `TTL socket.io-admin#${sessionId}`)).slice(1));
    assert.ok(ttl > 86_000 && ttl <= 86_400, `ttl ${ttl}`);
    await connected(connect(t, second.url, { nsp: "/admin", auth: { sessionId } }));

    assert.equal(await redisCommandLine(env.redis.port, "SET socket.io-admin#00000000000000ff 1 EX 60"), "+OK");
    await connected(connect(t, second.url, { nsp: "/admin", auth: { sessionId: "00000000000000ff" } }));
    const forged = await refused(connect(t, second.url, { nsp: "/admin", auth: { sessionId: "00000000000000fe" } }));
    assert.equal(forged.message, "invalid credentials");
  });

  second.itStops();
  first.itStops();
});

/** Waits until `admin` got a server_stats of each of `ids` (each server sends one every 2 s); returns the
 * last one of each by server id. */
async function statsOf(admin, ids) {
  const seen = new Map();
  await admin.until(
    () => {
      for (const [stats] of admin.queue("server_stats").splice(0)) seen.set(stats.serverId, stats);
      return ids.every((id) => seen.has(id));
    },
    `server_stats of ${ids.join(" and ")}`,
    { ms: 3 * WAIT_MS },
  );
  return seen;
}

describe("admin ui: a mixed cluster, a Node server with @socket.io/admin-ui and a sio server on one Redis", { skip: SKIP_MIXED, timeout: TEST_TIMEOUT_MS * 10 }, () => {
  const env = {};
  const sio = useServer(async () => {
    env.redis = await startRedis(REDIS_BIN);
    return start("--server-id", "sio-mixed", "--redis-port", String(env.redis.port))();
  });
  const node = useServer(async () =>
    startServer(process.execPath, [NODE_ADMIN_PEER], {
      name: "node_admin_peer",
      env: { PORT: "0", REDIS_PORT: String(env.redis.port), SERVER_ID: "node-mixed" },
    }),
  );
  after(() => env.redis?.kill());

  it("an admin client on either server lists both servers and the sockets of both", { timeout: 2 * TEST_TIMEOUT_MS }, async (t) => {
    const servers = { sio, node };
    // Both servers are in the cluster once each admin client gets the other server's stats.
    const watchers = {};
    for (const [name, server] of Object.entries(servers)) {
      watchers[name] = await connected(connect(t, server.url, { nsp: "/admin" }));
      await statsOf(watchers[name], ["sio-mixed", "node-mixed"]);
    }

    const users = { sio: await connected(connect(t, sio.url)), node: await connected(connect(t, node.url)) };
    // Each watcher is told of both connections, the one on the other server through the adapter.
    for (const [name, watcher] of Object.entries(watchers)) {
      for (const user of Object.values(users)) {
        await watcher.until(
          () => watcher.queue("socket_connected").some(([s]) => s.id === user.socket.id),
          `${name}'s admin client: socket_connected of ${user.socket.id}`,
        );
        const [[s]] = watcher.queue("socket_connected").filter(([s]) => s.id === user.socket.id);
        assert.equal(s.nsp, "/");
        assert.equal(s.clientId, user.socket.io.engine.id.substring(0, 12));
      }
    }

    for (const [name, server] of Object.entries(servers)) {
      const admin = await connected(connect(t, server.url, { nsp: "/admin" }));
      // The dashboard's server list: both servers, each with its namespaces and a socket on "/".
      const stats = await statsOf(admin, ["sio-mixed", "node-mixed"]);
      for (const [id, s] of stats) {
        const main = s.namespaces.find((n) => n.name === "/");
        assert.ok(main && main.socketsCount >= 1, `${name}: ${id}'s stats count the user on "/": ${JSON.stringify(s)}`);
        assert.ok(s.namespaces.some((n) => n.name === "/admin"), `${name}: ${id}'s stats list "/admin"`);
        assert.ok(s.clientsCount >= 1 && typeof s.uptime === "number" && Array.isArray(s.aggregatedEvents));
      }
      // The socket list: both users, with the fields the UI shows (the other server's from its answer to
      // the cluster-wide fetch, where the `_admin` data carries them).
      const [all] = await admin.next("all_sockets");
      for (const [where, user] of Object.entries(users)) {
        const s = all.find((x) => x.id === user.socket.id);
        assert.ok(s, `${name}'s admin client lists the user of ${where}: ${JSON.stringify(all)}`);
        assert.equal(s.nsp, "/");
        assert.equal(s.clientId, user.socket.io.engine.id.substring(0, 12));
        assert.ok(["polling", "websocket"].includes(s.transport), JSON.stringify(s));
        assert.deepEqual(s.data, {}); // _admin is not shown
        assert.deepEqual(s.rooms, [user.socket.id]);
      }
    }
  });

  it("a command from one server's admin client reaches a socket of the other server", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const onNode = await connected(connect(t, node.url));
    const onSio = await connected(connect(t, sio.url));
    const fromSio = await connected(connect(t, sio.url, { nsp: "/admin" }));
    const fromNode = await connected(connect(t, node.url, { nsp: "/admin" }));
    await statsOf(fromSio, ["node-mixed"]);
    await statsOf(fromNode, ["sio-mixed"]);
    fromSio.socket.emit("_disconnect", "/", false, onNode.socket.id);
    fromNode.socket.emit("_disconnect", "/", false, onSio.socket.id);
    for (const user of [onNode, onSio]) {
      await user.until(() => user.disconnects.length > 0, "disconnect", { allowDisconnect: true });
      assert.deepEqual(user.disconnects, ["io server disconnect"]);
    }
  });

  node.itStops();
  sio.itStops();
});
