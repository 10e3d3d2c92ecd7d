// The examples start, serve an official client, and stop cleanly on SIGTERM.
// Env: SIO_EXAMPLES_DIR = the build folder of the examples.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { Socket as EngineSocket } from "engine.io-client";
import { startServer, withTimeout } from "./support/server.mjs";
import { findRedisServer, startRedis } from "./support/redis.mjs";
import { readFileSync, existsSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { hasOpenssl, makeCertificate } from "./support/tls.mjs";

const DIR = process.env.SIO_EXAMPLES_DIR;
const SKIP = DIR ? false : "SIO_EXAMPLES_DIR is not set";
const WAIT_MS = 5000;

// Starts an example with PORT=0; resolves once it prints its port ("listening <port>" or a URL
// with "localhost:<port>"). Returns what startServer() of support/server.mjs returns.
function start(name, env = {}, args = []) {
  return startServer(`${DIR}/${name}`, args, {
    name,
    env: { PORT: "0", ...env },
    portPattern: /(?:listening (\d+)|localhost:(\d+))/,
    startupTimeoutMs: WAIT_MS,
    // The examples close gracefully within 2 s (a polling client that vanished cannot be flushed).
    stopTimeoutMs: 2 * WAIT_MS,
  });
}

describe("examples", { skip: SKIP, timeout: 30000 }, () => {
  it("engineio_echo echoes a message", async () => {
    const { port, stop } = await start("engineio_echo");
    try {
      const socket = new EngineSocket(`http://127.0.0.1:${port}`, { path: "/engine.io/" });
      const echoed = new Promise((resolve) => socket.on("message", resolve));
      socket.on("open", () => socket.send("hello"));
      assert.equal(await withTimeout(echoed, WAIT_MS, "echo"), "hello");
      socket.close();
    } finally {
      const { code } = await stop();
      assert.equal(code, 0);
    }
  });

  it("echo (the README's quick start) echoes and acks", async () => {
    const { port, stop } = await start("echo", {}, ["0"]); // its port comes from argv
    try {
      const socket = io(`http://127.0.0.1:${port}`, { forceNew: true });
      const echoed = new Promise((resolve) => socket.on("message", resolve));
      socket.emit("message", "hello");
      assert.equal(await withTimeout(echoed, WAIT_MS, "echo"), "hello");
      assert.equal(await withTimeout(socket.emitWithAck("ping"), WAIT_MS, "ack"), "pong");
      socket.close();
    } finally {
      const { code } = await stop();
      assert.equal(code, 0);
    }
  });

  it("session (echo as a session coroutine) echoes and acks", async () => {
    const { port, stop } = await start("session", {}, ["0"]);
    try {
      const socket = io(`http://127.0.0.1:${port}`, { forceNew: true });
      const echoed = [];
      const three = new Promise((resolve) => socket.on("message", (m) => echoed.push(m) === 3 && resolve()));
      for (const m of ["a", "b", "c"]) socket.emit("message", m);
      await withTimeout(three, WAIT_MS, "three echoes");
      assert.deepEqual(echoed, ["a", "b", "c"]);
      assert.equal(await withTimeout(socket.emitWithAck("ping"), WAIT_MS, "ack"), "pong");
      socket.close();
    } finally {
      const { code } = await stop();
      assert.equal(code, 0);
    }
  });

  it("logging echoes, and a failing handler costs nothing but a log record", async () => {
    const { port, stop } = await start("logging");
    try {
      const socket = io(`http://127.0.0.1:${port}`, { forceNew: true, transports: ["websocket"] });
      socket.emit("fail");
      const echoed = new Promise((resolve) => socket.on("message", resolve));
      socket.emit("message", "still here");
      assert.equal(await withTimeout(echoed, WAIT_MS, "echo after a failing handler"), "still here");
      socket.close();
    } finally {
      const { code } = await stop();
      assert.equal(code, 0);
    }
  });

  it("conformance answers message-with-ack", async () => {
    const { port, stop } = await start("conformance");
    try {
      const socket = io(`http://127.0.0.1:${port}`, { forceNew: true, auth: { token: "t" } });
      const auth = new Promise((resolve) => socket.on("auth", resolve));
      assert.deepEqual(await withTimeout(auth, WAIT_MS, "auth event"), { token: "t" });
      const answer = await withTimeout(socket.emitWithAck("message-with-ack", 1, "2"), WAIT_MS, "ack");
      assert.equal(answer, 1);
      socket.close();
    } finally {
      const { code } = await stop();
      assert.equal(code, 0);
    }
  });

  it("attach_beast shares its port between the application and sio", async () => {
    const { port, stop } = await start("attach_beast");
    try {
      const res = await withTimeout(fetch(`http://127.0.0.1:${port}/hello`), WAIT_MS, "application route");
      assert.equal(await res.text(), "hello from the application\n");
      const socket = io(`http://127.0.0.1:${port}`, { forceNew: true, transports: ["polling", "websocket"] });
      const hello = new Promise((resolve) => socket.on("hello", resolve));
      assert.equal(await withTimeout(hello, WAIT_MS, "hello event"), "from sio");
      socket.close();
    } finally {
      const { code } = await stop();
      assert.equal(code, 0);
    }
  });

  // A chat user: an official client that logged in under `name`; records what it receives.
  async function chatUser(port, name, transports = ["polling", "websocket"]) {
    const socket = io(`http://127.0.0.1:${port}`, { forceNew: true, transports });
    const seen = [];
    for (const event of ["new message", "user joined", "user left", "typing", "stop typing", "user joined channel", "user left channel"])
      socket.on(event, (payload) => seen.push({ event, ...payload }));
    await withTimeout(new Promise((resolve) => socket.on("connect", resolve)), WAIT_MS, `${name} connects`);
    const welcome = await withTimeout(socket.emitWithAck("add user", name), WAIT_MS, `${name} logs in`);
    assert.equal(welcome.ok, true);
    // Resolves with the first record of `event` matching `match` (already seen or to come).
    const waitFor = (event, match = () => true) =>
      withTimeout(
        new Promise((resolve) => {
          const check = () => {
            const hit = seen.find((e) => e.event === event && match(e));
            if (hit) return resolve(hit);
            setTimeout(check, 10);
          };
          check();
        }),
        WAIT_MS,
        () => `${name} waits for ${event}; seen ${JSON.stringify(seen)}`,
      );
    return { socket, seen, welcome, waitFor };
  }

  it("chat serves its page and the official client bundle (ETag, 304, gzip, HEAD)", async () => {
    const { port, stop } = await start("chat");
    try {
      const base = `http://127.0.0.1:${port}`;
      const page = await withTimeout(fetch(`${base}/`), WAIT_MS, "index");
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type"), /^text\/html/);
      assert.match(await page.text(), /<script src="\/socket.io\/socket.io.min.js"><\/script>/);
      assert.equal((await fetch(`${base}/chat.js`)).status, 200);
      assert.equal((await fetch(`${base}/../CMakeLists.txt`)).status, 404);
      assert.equal((await fetch(`${base}/nope.html`)).status, 404);

      const dist = new URL("../../client/node_modules/socket.io-client/dist/", import.meta.url);
      const version = JSON.parse(readFileSync(new URL("../package.json", dist), "utf8")).version;
      for (const name of ["socket.io.js", "socket.io.min.js", "socket.io.esm.min.js", "socket.io.msgpack.min.js"]) {
        for (const file of [name, `${name}.map`]) {
          const res = await fetch(`${base}/socket.io/${file}`, { headers: { "accept-encoding": "identity" } });
          assert.equal(res.status, 200, file);
          assert.equal(res.headers.get("etag"), `"${version}"`);
          assert.equal(res.headers.get("cache-control"), "public, max-age=0");
          assert.equal(res.headers.get("content-type"), file.endsWith(".map") ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8");
          const body = Buffer.from(await res.arrayBuffer());
          assert.ok(body.equals(readFileSync(new URL(file, dist))), `${file} is the npm file`);
        }
      }
      const cached = await fetch(`${base}/socket.io/socket.io.js`, { headers: { "if-none-match": `"${version}"` } });
      assert.equal(cached.status, 304);
      assert.equal((await cached.arrayBuffer()).byteLength, 0);
      // Raw gzip bytes (node's fetch would decode them): an http request by hand.
      const { request } = await import("node:http");
      const gz = await withTimeout(new Promise((resolve, reject) => {
        request(`${base}/socket.io/socket.io.min.js?v=1`, { headers: { "accept-encoding": "gzip" } }, (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve({ res, body: Buffer.concat(chunks) }));
        }).on("error", reject).end();
      }), WAIT_MS, "gzip bundle");
      assert.equal(gz.res.headers["content-encoding"], "gzip");
      assert.ok(gunzipSync(gz.body).equals(readFileSync(new URL("socket.io.min.js", dist))));
      const head = await fetch(`${base}/socket.io/socket.io.min.js`, { method: "HEAD", headers: { "accept-encoding": "identity" } });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get("content-length")), readFileSync(new URL("socket.io.min.js", dist)).length);
      assert.equal((await fetch(`${base}/socket.io/socket.io.esm.js`)).status, 404);
    } finally {
      const { code } = await stop();
      assert.equal(code, 0);
    }
  });

  it("chat: two official clients log in, talk, type, switch channels and leave", async () => {
    const { port, stop } = await start("chat");
    const users = [];
    try {
      const alice = await chatUser(port, "alice", ["websocket"]);
      users.push(alice);
      assert.equal(alice.welcome.numUsers, 1);
      const bob = await chatUser(port, "bob", ["polling"]);
      users.push(bob);
      assert.equal(bob.welcome.numUsers, 2);
      await alice.waitFor("user joined", (e) => e.username === "bob" && e.numUsers === 2);

      const sent = await withTimeout(alice.socket.emitWithAck("new message", "hi bob"), WAIT_MS, "alice sends");
      assert.equal(sent.ok, true);
      assert.equal(sent.message.username, "alice");
      const got = await bob.waitFor("new message", (e) => e.message === "hi bob");
      assert.equal(got.username, "alice");
      assert.equal(got.channel, "general");
      await withTimeout(bob.socket.emitWithAck("new message", "hello alice"), WAIT_MS, "bob sends");
      await alice.waitFor("new message", (e) => e.message === "hello alice" && e.username === "bob");
      assert.equal(alice.seen.filter((e) => e.event === "new message" && e.username === "alice").length, 0, "no echo to the sender");

      bob.socket.emit("typing");
      await alice.waitFor("typing", (e) => e.username === "bob");
      bob.socket.emit("stop typing");
      await alice.waitFor("stop typing", (e) => e.username === "bob");

      // Channels are rooms: a message in #cpp does not reach #general.
      const joined = await withTimeout(bob.socket.emitWithAck("join channel", "CPP"), WAIT_MS, "join");
      assert.deepEqual(joined, { ok: true, channel: "cpp" });
      await alice.waitFor("user left channel", (e) => e.username === "bob" && e.channel === "general");
      await withTimeout(bob.socket.emitWithAck("new message", "only in cpp"), WAIT_MS, "bob in cpp");
      await withTimeout(alice.socket.emitWithAck("new message", "only in general"), WAIT_MS, "alice in general");
      await withTimeout(alice.socket.emitWithAck("join channel", "cpp"), WAIT_MS, "alice joins cpp");
      await bob.waitFor("user joined channel", (e) => e.username === "alice" && e.channel === "cpp");
      assert.ok(!alice.seen.some((e) => e.message === "only in cpp"));
      assert.ok(!bob.seen.some((e) => e.message === "only in general"));

      // Bad input is answered, not obeyed.
      assert.equal((await alice.socket.emitWithAck("join channel", "../etc")).ok, false);
      assert.equal((await alice.socket.emitWithAck("add user", "again")).ok, false);
      assert.equal((await alice.socket.emitWithAck("new message", "")).ok, false);

      // A refused name leaves the session waiting for a valid one; leaving announces the user once.
      const carol = io(`http://127.0.0.1:${port}`, { forceNew: true, transports: ["websocket"] });
      users.push({ socket: carol });
      const refused = await withTimeout(carol.emitWithAck("add user", "  "), WAIT_MS, "carol's blank name");
      assert.equal(refused.ok, false);
      const accepted = await withTimeout(carol.emitWithAck("add user", "carol"), WAIT_MS, "carol logs in");
      assert.equal(accepted.ok, true);
      assert.equal(accepted.numUsers, 3);
      await alice.waitFor("user joined", (e) => e.username === "carol" && e.numUsers === 3);
      carol.close();
      await alice.waitFor("user left", (e) => e.username === "carol" && e.numUsers === 2);

      bob.socket.close();
      await alice.waitFor("user left", (e) => e.username === "bob" && e.numUsers === 1);
    } finally {
      for (const u of users) u.socket.close();
      const { code } = await stop();
      assert.equal(code, 0);
    }
  });

  it("chat stops gracefully on SIGTERM: clients get what was queued, then a closed transport", async () => {
    const { port, stop } = await start("chat");
    const alice = await chatUser(port, "alice", ["websocket"]);
    const bob = await chatUser(port, "bob", ["websocket"]);
    const reason = new Promise((resolve) => bob.socket.on("disconnect", resolve));
    for (let i = 0; i < 50; i++) alice.socket.emit("new message", `m${i}`, () => {});
    await bob.waitFor("new message", (e) => e.message === "m49");
    bob.socket.io.reconnection(false);
    alice.socket.io.reconnection(false);
    try {
      const { code } = await stop();
      assert.equal(code, 0);
      assert.equal(await withTimeout(reason, WAIT_MS, "disconnect"), "transport close");
    } finally {
      alice.socket.close();
      bob.socket.close();
    }
  });

  it("tls_echo echoes over WSS and HTTPS polling", { skip: hasOpenssl() ? false : "the openssl command is missing" }, async () => {
    const identity = makeCertificate();
    const { port, stop } = await start("tls_echo", { TLS_CERT: identity.cert, TLS_KEY: identity.key });
    try {
      for (const transports of [["websocket"], ["polling"]]) {
        const socket = io(`https://127.0.0.1:${port}`, { forceNew: true, transports, ca: identity.ca });
        try {
          const echoed = new Promise((resolve) => socket.on("message", resolve));
          socket.emit("message", `hello over ${transports[0]}`);
          assert.equal(await withTimeout(echoed, WAIT_MS, `echo over ${transports[0]}`), `hello over ${transports[0]}`);
          assert.equal(await withTimeout(socket.emitWithAck("ping"), WAIT_MS, "ping ack"), "pong");
          assert.equal(socket.io.engine.transport.name, transports[0]);
        } finally {
          socket.close();
        }
      }
    } finally {
      try {
        const { code } = await stop();
        assert.equal(code, 0);
      } finally {
        identity.remove();
      }
    }
  });

  const REDIS = findRedisServer();
  // The chat on each of the Redis adapters (ADAPTER: classic, sharded, streams with recovery on).
  for (const adapter of ["redis", "sharded", "streams"]) {
    it(`cluster_chat (ADAPTER=${adapter}): users on two processes sharing one Redis see each other`, { skip: REDIS ? false : "redis-server not found" }, async () => {
      const redis = await startRedis(REDIS);
      const servers = [];
      const users = [];
      try {
        for (let i = 0; i < 2; i++) servers.push(await start("cluster_chat", { REDIS_PORT: String(redis.port), ADAPTER: adapter }));
        const alice = await chatUser(servers[0].port, "alice");
        users.push(alice);
        // The second process may still be subscribing: probe until the cluster counts the users of both.
        for (let i = 0, deadline = Date.now() + WAIT_MS; ; i++) {
          const probe = await chatUser(servers[1].port, `probe${i}`);
          probe.socket.close();
          if (probe.welcome.numUsers === 2) {
            await alice.waitFor("user left", (e) => e.username === `probe${i}`);
            break;
          }
          assert.ok(Date.now() < deadline, "the second process never saw the first one's users");
        }
        const bob = await chatUser(servers[1].port, "bob");
        users.push(bob);
        assert.equal(bob.welcome.numUsers, 2, "numUsers counts the users of both processes");
        await alice.waitFor("user joined", (e) => e.username === "bob" && e.numUsers === 2);
        await withTimeout(alice.socket.emitWithAck("new message", "across processes"), WAIT_MS, "alice sends");
        await bob.waitFor("new message", (e) => e.message === "across processes" && e.username === "alice");
        await withTimeout(bob.socket.emitWithAck("new message", "back"), WAIT_MS, "bob sends");
        await alice.waitFor("new message", (e) => e.message === "back");
        bob.socket.close();
        await alice.waitFor("user left", (e) => e.username === "bob" && e.numUsers === 1);
      } finally {
        for (const u of users) u.socket.close();
        for (const server of servers) {
          const { code } = await server.stop();
          assert.equal(code, 0);
        }
        await redis.kill();
      }
    });
  }

  it("redis_cluster: two processes on one Redis share chat messages and their sockets", { skip: REDIS ? false : "redis-server not found" }, async () => {
    const redis = await startRedis(REDIS);
    const servers = [];
    const sockets = [];
    try {
      for (let i = 0; i < 2; i++) servers.push(await start("redis_cluster", { REDIS_PORT: String(redis.port) }));
      for (const { port } of servers) {
        const socket = io(`http://127.0.0.1:${port}`, { forceNew: true, transports: ["websocket"] });
        sockets.push(socket);
        await withTimeout(new Promise((resolve) => socket.on("connect", resolve)), WAIT_MS, "connect");
      }
      // Both servers subscribed: "who" on the first lists the sockets of both (the adapter's server count
      // is 2 once the second server subscribed; until then the first answers with its own socket only).
      let ids = [];
      for (const deadline = Date.now() + WAIT_MS; ids.length < 2 && Date.now() < deadline; ) {
        ids = await withTimeout(sockets[0].emitWithAck("who"), WAIT_MS, "who");
      }
      assert.deepEqual([...ids].sort(), sockets.map((s) => s.id).sort());
      const received = new Promise((resolve) => sockets[1].on("chat", resolve));
      sockets[0].emit("chat", "across the cluster");
      assert.equal(await withTimeout(received, WAIT_MS, "chat on the other server"), "across the cluster");
    } finally {
      for (const s of sockets) s.close();
      for (const server of servers) {
        const { code } = await server.stop();
        assert.equal(code, 0);
      }
      await redis.kill();
    }
  });
});

