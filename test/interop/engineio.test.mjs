// Interop tests: the official engine.io-client (6.6.x, as used by socket.io-client 4.8)
// against the sio C++ Engine.IO test server.
//
// The server command comes from the SIO_EIO_SERVER environment variable. It may contain
// arguments (it is split on whitespace), e.g. SIO_EIO_SERVER="node /tmp/mock/server.mjs".
// Contract of the server binary:
//   $SIO_EIO_SERVER --port 0 --ping-interval <ms> --ping-timeout <ms>
//   prints one line "listening <port>" on stdout once it accepts connections on 127.0.0.1,
//   Engine.IO path /engine.io/, echoes every message (text as text, binary as binary),
//   closes the session when it receives the text message "server-close", exits on SIGTERM.
//
// Run: SIO_EIO_SERVER=/path/to/server node --test test/interop/engineio.test.mjs

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "engine.io-client";
import { splitCommand, startServer, useServer } from "./support/server.mjs";
import { waitUntil } from "./support/client.mjs";
import { allBytes, patternBytes, toBytes } from "./support/values.mjs";

const SERVER_CMD = (process.env.SIO_EIO_SERVER ?? "").trim();
const SKIP = SERVER_CMD ? false : "SIO_EIO_SERVER is not set (path of the Engine.IO test server binary)";

const WAIT_MS = 5_000; // default bound for any single wait on client events
const TEST_TIMEOUT_MS = 15_000; // hard bound for every test

// ---------------------------------------------------------------------------
// Server process (spawning, port line, SIGTERM / SIGKILL: support/server.mjs)
// ---------------------------------------------------------------------------

/** Starts the server with --port 0 and the given heartbeat settings. */
function startTestServer({ pingInterval, pingTimeout }) {
  const { command, args } = splitCommand(SERVER_CMD);
  return startServer(command, [
    ...args,
    "--port", "0",
    "--ping-interval", String(pingInterval),
    "--ping-timeout", String(pingTimeout),
  ]);
}

// ---------------------------------------------------------------------------
// Client wrapper: records everything that happens, and offers bounded waits
// ---------------------------------------------------------------------------

class Client {
  constructor(port, opts = {}) {
    this.messages = [];
    this.cursor = 0;
    this.pings = 0;
    this.opened = false;
    this.handshake = null;
    this.upgraded = false;
    this.closed = null; // { reason, description }
    this.errors = [];
    this.log = [];
    this.waiters = new Set();
    this.start = Date.now();
    this.socket = new Socket(`http://127.0.0.1:${port}`, { path: "/engine.io/", ...opts });
    const s = this.socket;
    s.on("handshake", (data) => { this.handshake = data; this._event(`handshake ${JSON.stringify(data)}`); });
    s.on("open", () => { this.opened = true; this._event(`open (${s.transport.name})`); });
    s.on("message", (data) => { this.messages.push(data); this._event(`message ${describeData(data)}`); });
    s.on("ping", () => { this.pings++; this._event("ping"); });
    s.on("upgrading", (t) => this._event(`upgrading (${t.name})`));
    s.on("upgrade", (t) => { this.upgraded = true; this._event(`upgrade (${t.name})`); });
    s.on("upgradeError", (err) => this._event(`upgradeError ${err?.message}`));
    s.on("error", (err) => { this.errors.push(err); this._event(`error ${err?.message ?? err}`); });
    s.on("close", (reason, description) => {
      this.closed = { reason, description };
      this._event(`close "${reason}" ${description ? describeError(description) : ""}`);
    });
  }

  _event(text) {
    this.log.push(`+${Date.now() - this.start}ms ${text}`);
    if (this.log.length > 400) this.log.splice(0, 100);
    for (const w of [...this.waiters]) w();
  }

  history() {
    return this.log.slice(-25).join("\n  ");
  }

  /**
   * Waits until pred() returns a truthy value (re-checked on every client event).
   * what: description for errors (string, or function returning one).
   * Rejects on timeout, or when the socket closes first (unless allowClosed).
   */
  until(pred, what, { ms = WAIT_MS, allowClosed = false } = {}) {
    return waitUntil(this, pred, what, {
      ms,
      trouble: () => (this.closed && !allowClosed ? `socket closed ("${this.closed.reason}")` : null),
    });
  }

  async open(opts) {
    await this.until(() => this.opened, "open", opts);
    return this;
  }

  /** Returns the next n received messages (in arrival order). */
  async take(n, opts) {
    await this.until(() => this.messages.length - this.cursor >= n, () => `${n} message(s), received ${this.messages.length - this.cursor}`, opts);
    const out = this.messages.slice(this.cursor, this.cursor + n);
    this.cursor += n;
    return out;
  }

  async echo(data, opts) {
    this.socket.send(data);
    const [reply] = await this.take(1, opts);
    return reply;
  }

  async waitClose(opts) {
    return this.until(() => this.closed, "close event", { ...opts, allowClosed: true });
  }

  /** Stays connected for ms milliseconds; rejects at once if the socket closes meanwhile. */
  async stayOpen(ms) {
    const start = Date.now();
    // Re-check the predicate as time passes (client events alone may not wake us at the deadline).
    const tick = setInterval(() => { for (const w of [...this.waiters]) w(); }, 50);
    try {
      await this.until(() => Date.now() - start >= ms, `staying open for ${ms} ms`, { ms: ms + WAIT_MS });
    } finally {
      clearInterval(tick);
    }
  }

  dispose() {
    if (!this.closed) this.socket.close();
  }
}

/** Creates a client that is always closed when the test ends. */
function connect(t, port, opts) {
  const c = new Client(port, opts);
  t.after(() => c.dispose());
  return c;
}

function describeData(d) {
  if (typeof d === "string") return d.length > 60 ? `text(${d.length})` : `text ${JSON.stringify(d)}`;
  if (d === undefined) return "(no data)";
  try {
    return `binary(${toBytes(d).length})`;
  } catch {
    return Object.prototype.toString.call(d);
  }
}

function describeError(e) {
  if (e instanceof Error) return e.message;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

function assertBinary(received, expected, what = "binary message") {
  assert.notEqual(typeof received, "string", `${what}: expected binary, got text ${JSON.stringify(String(received).slice(0, 80))}`);
  const got = toBytes(received);
  const want = toBytes(expected);
  assert.equal(got.length, want.length, `${what}: length`);
  assert.ok(got.equals(want), `${what}: bytes differ`);
}

function assertText(received, expected, what = "text message") {
  assert.equal(typeof received, "string", `${what}: expected text, got ${Object.prototype.toString.call(received)}`);
  assert.equal(received, expected, what);
}

/** Message i of a mixed sequence: every 5th one binary (4-byte big-endian index), the others text. */
function seqMessage(tag, i) {
  if (i % 5 === 0) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(i);
    return b;
  }
  return `${tag}-${i}`;
}

function assertSequence(received, tag, from, count) {
  assert.equal(received.length, count);
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const want = seqMessage(tag, i);
    if (typeof want === "string") assertText(received[k], want, `message #${i}`);
    else assertBinary(received[k], want, `message #${i}`);
  }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

const DEFAULT_PING_INTERVAL = 25_000; // engine.io defaults: heartbeat never interferes with the basic tests
const DEFAULT_PING_TIMEOUT = 20_000;

describe("engine.io-client interop", { skip: SKIP, timeout: 120_000 }, () => {
  describe("basic (ping interval 25000 ms, timeout 20000 ms)", () => {
    const server = useServer(() => startTestServer({ pingInterval: DEFAULT_PING_INTERVAL, pingTimeout: DEFAULT_PING_TIMEOUT }));

    for (const transport of ["polling", "websocket"]) {
      const opts = { transports: [transport] };

      describe(`${transport} only`, () => {
        it("opens with a valid handshake", { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c = await connect(t, server.port, opts).open();
          assert.equal(c.socket.transport.name, transport);
          const hs = c.handshake;
          assert.ok(hs, "handshake received");
          assert.equal(typeof hs.sid, "string");
          assert.ok(hs.sid.length > 0, "sid not empty");
          assert.equal(hs.pingInterval, DEFAULT_PING_INTERVAL);
          assert.equal(hs.pingTimeout, DEFAULT_PING_TIMEOUT);
          assert.ok(Array.isArray(hs.upgrades), "upgrades is an array");
          if (transport === "polling") assert.ok(hs.upgrades.includes("websocket"), `upgrades ${JSON.stringify(hs.upgrades)} includes websocket`);
          else assert.deepEqual(hs.upgrades, [], "no upgrades from websocket");
          assert.equal(typeof hs.maxPayload, "number", "maxPayload is a number");
          assert.ok(hs.maxPayload > 0, "maxPayload > 0");
          assert.equal(c.socket.id, hs.sid);
        });

        it("echoes text", { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c = await connect(t, server.port, opts).open();
          assertText(await c.echo("hello"), "hello");
          const unicode = "héllo wörld — €, 日本語, emoji 😀🎉";
          assertText(await c.echo(unicode), unicode, "unicode text");
          // engine.io-parser decodes the packet "4" (message, no data) as { type: "message" } without
          // data, so the client reports an empty text message as undefined. Either is fine here.
          const empty = await c.echo("");
          assert.ok(empty === "" || empty === undefined, `empty text echoed as ${describeData(empty)}`);
          const json = JSON.stringify({ a: [1, 2, 3], b: "x\ny\"z", c: null });
          assertText(await c.echo(json), json, "json text");
        });

        it("echoes binary (bytes 0..255)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c = await connect(t, server.port, opts).open();
          const bytes = allBytes();
          assertBinary(await c.echo(bytes), bytes, "Buffer 0..255");
          const u8 = new Uint8Array(bytes); // plain Uint8Array, not a Buffer
          assertBinary(await c.echo(u8), bytes, "Uint8Array 0..255");
          const ab = u8.buffer.slice(0);
          assertBinary(await c.echo(ab), bytes, "ArrayBuffer 0..255");
          const single = Buffer.from([0]);
          assertBinary(await c.echo(single), single, "single zero byte");
        });

        it("echoes large messages (200 KB text and binary)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c = await connect(t, server.port, opts).open();
          const text = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(6000).slice(0, 200_000);
          assertText(await c.echo(text), text, "200 KB text");
          const bin = patternBytes(200_000, 7);
          assertBinary(await c.echo(bin), bin, "200 KB binary");
        });

        it("keeps order of 200 messages sent at once (mixed text/binary)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c = await connect(t, server.port, opts).open();
          for (let i = 0; i < 200; i++) c.socket.send(seqMessage("m", i));
          assertSequence(await c.take(200), "m", 0, 200);
        });

        it("server-initiated close fires close on the client", { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c = await connect(t, server.port, opts).open();
          // A message queued just before the close must still be delivered (flush before close).
          c.socket.send("before-close");
          c.socket.send("server-close");
          const [first] = await c.take(1);
          assertText(first, "before-close", "message echoed before the server closed the session");
          const { reason, description } = await c.waitClose();
          t.diagnostic(`${transport}: close reason "${reason}"${description ? ` (${describeError(description)})` : ""}`);
          assert.equal(reason, "transport close", `close reason (history:\n  ${c.history()})`);
          // Anything else received must only be an echo of "server-close" itself (contract leaves that open).
          for (const m of c.messages.slice(c.cursor)) assertText(m, "server-close", "unexpected message after before-close");
        });

        it("client close, then the server still accepts a new connection", { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c1 = await connect(t, server.port, opts).open();
          assertText(await c1.echo("first"), "first");
          c1.socket.close();
          const { reason } = await c1.waitClose();
          assert.equal(reason, "forced close");
          const c2 = await connect(t, server.port, opts).open();
          assert.notEqual(c2.socket.id, null);
          assert.notEqual(c2.handshake.sid, c1.handshake.sid, "new session id");
          assertText(await c2.echo("second"), "second");
          assertBinary(await c2.echo(allBytes()), allBytes());
        });
      });
    }

    describe("polling then upgrade to websocket", () => {
      it("upgrades without losing or reordering messages", { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const c = connect(t, server.port, {}); // default transports: polling first, then upgrade
        let sentDuringUpgrade = 0;
        c.socket.once("open", () => {
          assert.equal(c.socket.transport.name, "polling", "starts on polling");
          for (let i = 0; i < 50; i++) c.socket.send(seqMessage("u", i));
        });
        // The probe succeeded and the client is pausing polling: these are buffered and flushed on websocket.
        c.socket.once("upgrading", () => {
          for (let i = 50; i < 100; i++) c.socket.send(seqMessage("u", i));
          sentDuringUpgrade = 50;
        });
        await c.open();
        await c.until(() => c.upgraded, "upgrade event");
        assert.equal(c.socket.transport.name, "websocket");
        assert.equal(sentDuringUpgrade, 50, "upgrading event seen");
        assertSequence(await c.take(100), "u", 0, 100);
        // After the upgrade, text and binary still work, on the websocket.
        assertText(await c.echo("after-upgrade"), "after-upgrade");
        assertBinary(await c.echo(allBytes()), allBytes());
        for (let i = 0; i < 50; i++) c.socket.send(seqMessage("v", i));
        assertSequence(await c.take(50), "v", 0, 50);
        assert.equal(c.socket.transport.name, "websocket");
        assert.equal(c.closed, null);
      });

      it("server-initiated close after upgrade", { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const c = await connect(t, server.port, {}).open();
        await c.until(() => c.upgraded, "upgrade event");
        c.socket.send("server-close");
        const { reason } = await c.waitClose();
        t.diagnostic(`upgraded: close reason "${reason}"`);
        assert.equal(reason, "transport close");
      });
    });

    describe("concurrent sessions", () => {
      it("keeps 12 simultaneous sessions (polling, websocket, upgrading) separate", { timeout: TEST_TIMEOUT_MS }, async (t) => {
        const kinds = [{ transports: ["polling"] }, { transports: ["websocket"] }, {}];
        const clients = Array.from({ length: 12 }, (_, k) => connect(t, server.port, kinds[k % 3]));
        await Promise.all(clients.map((c) => c.open()));
        const ids = new Set(clients.map((c) => c.socket.id));
        assert.equal(ids.size, clients.length, "distinct session ids");
        clients.forEach((c, k) => { for (let i = 0; i < 30; i++) c.socket.send(seqMessage(`c${k}`, i)); });
        const results = await Promise.all(clients.map((c) => c.take(30)));
        results.forEach((r, k) => assertSequence(r, `c${k}`, 0, 30));
      });
    });

    server.itStops();
  });

  describe("heartbeat (ping interval 250 ms, timeout 500 ms)", () => {
    // Short enough for many intervals in 2 s; long enough that a busy machine (sanitizer builds, two test
    // processes per core) does not stall a client past the deadline.
    const server = useServer(() => startTestServer({ pingInterval: 250, pingTimeout: 500 }));

    describe("idle sessions (run concurrently)", { concurrency: true }, () => {
      for (const [name, opts] of [
        ["polling", { transports: ["polling"] }],
        ["websocket", { transports: ["websocket"] }],
        ["polling upgraded to websocket", {}],
      ]) {
        it(`stays connected over many intervals: ${name}`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
          const c = await connect(t, server.port, opts).open();
          assert.equal(c.handshake.pingInterval, 250);
          assert.equal(c.handshake.pingTimeout, 500);
          if (name.includes("upgraded")) {
            await c.until(() => c.upgraded, "upgrade event");
            assert.equal(c.socket.transport.name, "websocket");
          }
          const pingsBefore = c.pings;
          await c.stayOpen(2_000);
          assert.equal(c.closed, null, "no close event");
          const pings = c.pings - pingsBefore;
          t.diagnostic(`${name}: ${pings} pings in 2000 ms`);
          assert.ok(pings >= 3, `at least 3 pings in 2000 ms, got ${pings}`);
          // Still fully usable.
          assertText(await c.echo("still-alive"), "still-alive");
          assertBinary(await c.echo(allBytes()), allBytes());
        });
      }
    });

    server.itStops();
  });
});
