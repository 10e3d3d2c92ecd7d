// Interop tests of connection state recovery: the official socket.io-client (4.8.x) against the sio test
// server (test/sio_test_server.cpp) started with --recovery. What is asserted is what a socket.io 4.8
// Node server with `connectionStateRecovery` makes the client observe: after a dropped transport the
// client reconnects with `recovered === true`, the same id, its rooms and data, and every event it
// missed exactly once and in order (with the offset as the last argument), nothing of rooms it was not
// in.
//
// Synchronisation: every wait is for an event or an ack, bounded by WAIT_MS. That the server noticed a
// drop is awaited by asking it for its sockets (fetch_sockets through the "util" event) until the
// dropped id is gone. The only fixed wait is the expiry test's, which waits for time to pass (the
// session lifetime is the thing under test).
//
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/recovery.test.mjs

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { splitCommand, startServer } from "./support/server.mjs";
import { defer } from "./support/client.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const SKIP = SERVER_CMD ? false : "SIO_SERVER is not set (path of the Socket.IO test server binary)";
const WAIT_MS = 5_000;
const TEST_TIMEOUT_MS = 20_000;

async function serverFor(t, extra = []) {
  const { command, args } = splitCommand(SERVER_CMD);
  const server = await startServer(command, [...args, "--port", "0", ...extra]);
  defer(t, () => server.stop());
  return server;
}

/** A client that records every event (name and arguments) and wakes its waiters. */
class Recorder {
  constructor(url, t, opts = {}) {
    this.events = [];
    this.waiters = new Set();
    this.socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, ...opts });
    this.socket.onAny((name, ...args) => this.note([name, ...args]));
    this.socket.on("connect", () => this.note(["(connect)"]));
    this.socket.on("disconnect", (reason) => this.note(["(disconnect)", reason]));
    this.socket.on("connect_error", (err) => this.note(["(connect_error)", err.message]));
    defer(t, () => this.socket.disconnect());
  }
  note(e) {
    this.events.push(e);
    for (const w of [...this.waiters]) w();
  }
  /** Resolves with the first recorded event at index >= from that matches pred. */
  waitFor(pred, what, from = 0) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.events.findIndex((e, k) => k >= from && pred(e));
        if (i >= 0) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(this.events[i]);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; saw ${JSON.stringify(this.events)}`));
      }, WAIT_MS);
      this.waiters.add(check);
      check();
    });
  }
  ask(...args) {
    return this.socket.timeout(WAIT_MS).emitWithAck(...args);
  }
}

/** Waits until the server no longer lists socket `id` in "/" (it noticed the drop). */
async function waitGone(asker, id) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const r = await asker.ask("util", { op: "fetch" });
    if (!r.sockets.some((s) => s.id === id)) return;
    if (Date.now() > deadline) throw new Error(`the server still lists ${id}`);
  }
}

const named = (name) => (e) => e[0] === name;

describe("connection state recovery (official socket.io-client)", { skip: SKIP, timeout: TEST_TIMEOUT_MS }, () => {
  it("sends a pid only when enabled, and appends the offset to kept events", async (t) => {
    const plain = await serverFor(t);
    const a = new Recorder(plain.url, t);
    const w = await a.waitFor(named("welcome"), "welcome");
    assert.equal(w.length, 2, "no offset without recovery");
    assert.equal(a.socket._pid, undefined);

    const server = await serverFor(t, ["--recovery", "60000"]);
    const b = new Recorder(server.url, t);
    const welcome = await b.waitFor(named("welcome"), "welcome");
    assert.equal(typeof b.socket._pid, "string");
    assert.equal(b.socket._pid.length, 20);
    assert.equal(typeof welcome[2], "string", "socket.emit carries an offset");
    assert.equal(welcome[1].recovered, false);
    // An ack carries no offset.
    const ackArgs = await new Promise((resolve, reject) =>
      b.socket.timeout(WAIT_MS).emit("ack", 1, "x", (err, ...args) => (err ? reject(err) : resolve(args))),
    );
    assert.deepEqual(ackArgs, [1, "x"]);
  });

  for (const how of ["engine.close()", "killed TCP connection"]) {
    it(`recovers id, rooms, data and every missed event once, in order (${how})`, async (t) => {
      const server = await serverFor(t, ["--recovery", "60000"]);
      const a = new Recorder(server.url, t);
      const sender = new Recorder(server.url, t);
      await a.waitFor(named("welcome"), "welcome of a");
      await sender.waitFor(named("welcome"), "welcome of the sender");
      const id = a.socket.id;
      await a.ask("join", "r1");
      await a.ask("set-data", { user: "ann" });

      if (how === "engine.close()") a.socket.io.engine.close();
      else a.socket.io.engine.transport.ws._socket.destroy();
      await a.waitFor(named("(disconnect)"), "the drop");
      await waitGone(sender, id);

      // While a is away.
      sender.socket.emit("to-room", "r1", "m-room", 1);
      sender.socket.emit("to-room", "r2", "m-other-room", 2);
      sender.socket.emit("broadcast", "m-broadcast", 3);
      sender.socket.emit("except", "r1", "m-except-r1", 4);
      sender.socket.emit("to-room", id, "m-direct", 5);
      await sender.ask("ack"); // barrier: the sender's events were handled

      const from = a.events.length;
      a.socket.connect();
      await a.waitFor(named("(connect)"), "the reconnection", from);
      assert.equal(a.socket.recovered, true);
      assert.equal(a.socket.id, id);
      const welcome = await a.waitFor(named("welcome"), "welcome after recovery", from);
      assert.equal(welcome[1].recovered, true);
      assert.deepEqual(welcome[1].data, { user: "ann" });
      const rooms = await a.ask("join", "r3");
      assert.deepEqual([...rooms].sort(), [id, "r1", "r3"].sort());

      const missed = a.events.slice(from).filter((e) => e[0].startsWith("m-"));
      assert.deepEqual(
        missed.map((e) => e.slice(0, 2)),
        [["m-room", 1], ["m-broadcast", 3], ["m-direct", 5]],
      );
      for (const e of missed) assert.equal(typeof e[2], "string", "each replayed event ends with its offset");
      // The missed events came before the CONNECT answer (the reference's order).
      const connectAt = a.events.findIndex((e, k) => k >= from && e[0] === "(connect)");
      assert.ok(a.events.findIndex((e, k) => k >= from && e[0] === "m-room") < connectAt);

      // Live again, and recoverable again.
      a.socket.io.engine.close();
      await a.waitFor(named("(disconnect)"), "the second drop", from);
      await waitGone(sender, id);
      sender.socket.emit("to-room", "r3", "m-second", 6);
      await sender.ask("ack");
      const again = a.events.length;
      a.socket.connect();
      await a.waitFor(named("(connect)"), "the second reconnection", again);
      assert.equal(a.socket.recovered, true);
      assert.equal(a.socket.id, id);
      const second = a.events.slice(again).filter((e) => e[0].startsWith("m-"));
      assert.deepEqual(second.map((e) => e.slice(0, 2)), [["m-second", 6]]);
    });
  }

  it("recovers a client that received no event before the drop", async (t) => {
    const server = await serverFor(t, ["--recovery", "60000"]);
    const sender = new Recorder(server.url, t);
    await sender.waitFor(named("welcome"), "welcome of the sender");
    // "quiet": the server emits nothing to it, so it has a pid but no offset.
    const a = new Recorder(server.url, t, { auth: { quiet: true } });
    await new Promise((resolve) => a.socket.on("connect", resolve));
    const id = a.socket.id;
    a.socket.io.engine.close();
    await a.waitFor(named("(disconnect)"), "the drop");
    assert.equal(a.socket._lastOffset, undefined);
    await waitGone(sender, id);
    sender.socket.emit("to-room", id, "m-direct", 1);
    await sender.ask("ack");
    const from = a.events.length;
    a.socket.connect();
    await a.waitFor(named("(connect)"), "the reconnection", from);
    assert.equal(a.socket.recovered, true);
    assert.equal(a.socket.id, id);
    await a.waitFor(named("m-direct"), "the missed event", from);
  });

  it("does not recover an expired session", async (t) => {
    const server = await serverFor(t, ["--recovery", "300"]);
    const sender = new Recorder(server.url, t);
    const a = new Recorder(server.url, t);
    await a.waitFor(named("welcome"), "welcome");
    await sender.waitFor(named("welcome"), "welcome of the sender");
    const id = a.socket.id;
    a.socket.io.engine.close();
    await waitGone(sender, id);
    await new Promise((resolve) => setTimeout(resolve, 900)); // the session's lifetime passes
    const from = a.events.length;
    a.socket.connect();
    await a.waitFor(named("(connect)"), "the reconnection", from);
    assert.equal(a.socket.recovered, false);
    assert.notEqual(a.socket.id, id);
  });

  for (const run of [false, true]) {
    it(`a recovered socket ${run ? "goes through" : "skips"} the middlewares`, async (t) => {
      const extra = ["--recovery", "60000", ...(run ? ["--recovery-run-middlewares", "1"] : [])];
      const server = await serverFor(t, extra);
      const a = new Recorder(server.url, t);
      const first = await a.waitFor(named("welcome"), "welcome");
      const id = a.socket.id;
      a.socket.io.engine.close();
      await a.waitFor(named("(disconnect)"), "the drop");
      const from = a.events.length;
      a.socket.connect();
      await a.waitFor(named("(connect)"), "the reconnection", from);
      assert.equal(a.socket.recovered, true);
      assert.equal(a.socket.id, id);
      const second = await a.waitFor(named("welcome"), "welcome after recovery", from);
      assert.equal(second[1].middlewares, first[1].middlewares + (run ? 1 : 0));
    });
  }

  it("takes over a socket whose old connection the server still holds", async (t) => {
    const server = await serverFor(t, ["--recovery", "60000"]);
    const sender = new Recorder(server.url, t);
    await sender.waitFor(named("welcome"), "welcome of the sender");
    const a = new Recorder(server.url, t);
    await a.waitFor(named("welcome"), "welcome of a");
    const id = a.socket.id;
    await a.ask("join", "r1");
    await a.ask("set-data", { user: "bob" });
    // The same client back on a new connection while its old one is still open on the server (as after a
    // network change, before the ping timeout): a second official client with a's pid and offset.
    const b = new Recorder(server.url, t, { autoConnect: false });
    b.socket._pid = a.socket._pid;
    b.socket._lastOffset = a.socket._lastOffset;
    const from = a.events.length;
    b.socket.connect();
    await b.waitFor(named("(connect)"), "the takeover");
    assert.equal(b.socket.recovered, true);
    assert.equal(b.socket.id, id);
    const welcome = await b.waitFor(named("welcome"), "welcome after the takeover");
    assert.equal(welcome[1].recovered, true);
    assert.deepEqual(welcome[1].data, { user: "bob" });
    await a.waitFor(named("(disconnect)"), "the old connection closed", from);
    // The rooms came along, and live events reach the new connection only.
    sender.socket.emit("to-room", "r1", "m-after", 1);
    await b.waitFor(named("m-after"), "a room event after the takeover");
    const rooms = await b.ask("join", "r2");
    assert.deepEqual([...rooms].sort(), [id, "r1", "r2"].sort());
    assert.ok(!a.events.slice(from).some(named("m-after")));
  });

  it("a refused recovery leaks nothing, and the session survives it", async (t) => {
    const server = await serverFor(t, ["--recovery", "60000", "--recovery-run-middlewares", "1"]);
    const sender = new Recorder(server.url, t);
    await sender.waitFor(named("welcome"), "welcome of the sender");
    const a = new Recorder(server.url, t, { auth: { token: "good" } });
    await a.waitFor(named("welcome"), "welcome");
    const id = a.socket.id;
    a.socket.io.engine.close();
    await a.waitFor(named("(disconnect)"), "the drop");
    await waitGone(sender, id);
    sender.socket.emit("to-room", id, "m-secret", 1);
    await sender.ask("ack");
    a.socket.auth = { token: "bad" }; // the middleware now refuses it
    const from = a.events.length;
    a.socket.connect();
    await a.waitFor(named("(connect_error)"), "the refusal", from);
    assert.ok(!a.events.slice(from).some(named("m-secret")));
    // The refusal did not consume the saved session: accepted again, the client recovers, secret included.
    a.socket.auth = { token: "good" };
    const again = a.events.length;
    a.socket.connect();
    await a.waitFor(named("(connect)"), "the accepted reconnection", again);
    assert.equal(a.socket.recovered, true);
    assert.equal(a.socket.id, id);
    await a.waitFor(named("m-secret"), "the missed event", again);
  });
});
