// Interop over TLS: the official socket.io-client (4.8.x) against the sio C++ test server listening with
// a TLS context (`sio_test_server --tls-cert --tls-key`): HTTPS long-polling, WSS, the upgrade from one to
// the other, and clients that fail the TLS handshake (untrusted certificate, plain HTTP on the TLS port)
// without harming the server. The certificate is made at test time (support/tls.mjs); the clients trust
// exactly it (`ca`) and keep verifying the server's identity.
//
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/tls.test.mjs

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { splitCommand, startServer, withTimeout } from "./support/server.mjs";
import { hasOpenssl, makeCertificate } from "./support/tls.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const SKIP = !SERVER_CMD ? "SIO_SERVER is not set" : !hasOpenssl() ? "the openssl command is missing" : false;
const WAIT_MS = 5_000;

describe("socket.io-client over TLS", { skip: SKIP, timeout: 30_000 }, () => {
  let identity;
  let server;
  before(async () => {
    identity = makeCertificate();
    const { command, args } = splitCommand(SERVER_CMD);
    server = await startServer(command, [...args, "--port", "0", "--tls-cert", identity.cert, "--tls-key", identity.key]);
  });
  after(async () => {
    try {
      if (server) assert.equal((await server.stop()).code, 0);
    } finally {
      identity?.remove();
    }
  });

  const url = () => `https://127.0.0.1:${server.port}`;

  /** Connects, waits for "welcome", checks an echo and the transport in use; closes. */
  async function echoOver(options, expectedTransport) {
    const socket = io(url(), { forceNew: true, reconnection: false, ca: identity.ca, ...options });
    try {
      const welcome = await withTimeout(new Promise((resolve) => socket.once("welcome", resolve)), WAIT_MS, "welcome");
      assert.equal(welcome.id, socket.id);
      if (expectedTransport === "websocket" && socket.io.engine.transport.name !== "websocket") {
        await withTimeout(new Promise((resolve) => socket.io.engine.once("upgrade", resolve)), WAIT_MS, "upgrade");
      }
      const echoed = new Promise((resolve) => socket.once("echo", (...args) => resolve(args)));
      socket.emit("echo", "over tls", { n: 1 }, Buffer.from([1, 2, 3]));
      const [text, obj, bin] = await withTimeout(echoed, WAIT_MS, "echo");
      assert.equal(text, "over tls");
      assert.deepEqual(obj, { n: 1 });
      assert.deepEqual([...bin], [1, 2, 3]);
      assert.equal(socket.io.engine.transport.name, expectedTransport);
    } finally {
      socket.close();
    }
  }

  it("HTTPS long-polling", async () => {
    await echoOver({ transports: ["polling"] }, "polling");
  });

  it("WSS", async () => {
    await echoOver({ transports: ["websocket"] }, "websocket");
  });

  it("upgrade from HTTPS polling to WSS", async () => {
    await echoOver({ transports: ["polling", "websocket"] }, "websocket");
  });

  it("a client that does not trust the certificate fails; the server goes on", async () => {
    for (const transports of [["polling"], ["websocket"]]) {
      const socket = io(url(), { forceNew: true, reconnection: false, transports });
      try {
        const err = await withTimeout(new Promise((resolve) => socket.once("connect_error", resolve)), WAIT_MS, "connect_error");
        assert.ok(err instanceof Error);
      } finally {
        socket.close();
      }
    }
    await echoOver({ transports: ["websocket"] }, "websocket");
  });

  it("plain HTTP on the TLS port fails; the server goes on", async () => {
    const socket = io(`http://127.0.0.1:${server.port}`, { forceNew: true, reconnection: false, transports: ["polling"] });
    try {
      await withTimeout(new Promise((resolve) => socket.once("connect_error", resolve)), WAIT_MS, "connect_error");
    } finally {
      socket.close();
    }
    await echoOver({ transports: ["polling"] }, "polling");
  });
});
