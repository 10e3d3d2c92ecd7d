// The examples start, serve an official client, and stop cleanly on SIGTERM.
// Env: SIO_EXAMPLES_DIR = the build folder of the examples.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { Socket as EngineSocket } from "engine.io-client";
import { startServer, withTimeout } from "./support/server.mjs";
import { findRedisServer, startRedis } from "./support/redis.mjs";
import { hasOpenssl, makeCertificate } from "./support/tls.mjs";

const DIR = process.env.SIO_EXAMPLES_DIR;
const SKIP = DIR ? false : "SIO_EXAMPLES_DIR is not set";
const WAIT_MS = 5000;

// Starts an example with PORT=0; resolves once it prints its port ("listening <port>" or a URL
// with "localhost:<port>"). Returns what startServer() of support/server.mjs returns.
function start(name, env = {}) {
  return startServer(`${DIR}/${name}`, [], {
    name,
    env: { PORT: "0", ...env },
    portPattern: /(?:listening (\d+)|localhost:(\d+))/,
    startupTimeoutMs: WAIT_MS,
    stopTimeoutMs: WAIT_MS,
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

