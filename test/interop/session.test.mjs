// Interop: the official socket.io-client against a session written as a coroutine (socket.receive()) on
// the sio test server's "/session" namespace (test/sio_test_server.cpp, setup_session). The client sends
// many events in bursts; the server's coroutine takes them slowly. Every event must arrive, in order, and
// the events waiting on the server must stay within the bound (--max-received-events) plus what one read
// brings in: reading from the connection pauses while the bound is reached. Over plain WebSocket (framed
// by the session), HTTP long-polling, and WebSocket over TLS (Beast's stream).
//
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/session.test.mjs

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { splitCommand, startServer, withTimeout } from "./support/server.mjs";
import { hasOpenssl, makeCertificate } from "./support/tls.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const SKIP = SERVER_CMD ? false : "SIO_SERVER is not set (path of the Socket.IO test server binary)";
const BOUND = 1000; // --max-received-events
const WAIT_MS = 60_000;

// events: how many; burst: how many before each report (a polling POST holds at most 10 000 packets, the
// engine's max_packets_per_payload, and the client puts everything it has buffered in one POST);
// overshoot: how far above the bound the waiting events may go. A plain WebSocket read brings in at most
// 64 KiB, and the smallest event frame, 42["n",0] with a masked header, is 15 bytes; a POST's packets and
// Beast's messages are handed over one by one and stop at the bound.
const RUNS = [
  { name: "WebSocket", transport: "websocket", tls: false, events: 100_000, burst: 100_000, overshoot: Math.ceil(65536 / 15) },
  { name: "polling", transport: "polling", tls: false, events: 20_000, burst: 5_000, overshoot: 1 },
  { name: "WebSocket over TLS", transport: "websocket", tls: true, events: 100_000, burst: 100_000, overshoot: 1 },
];

describe("a session coroutine with the official client", { skip: SKIP, timeout: 180_000 }, () => {
  for (const run of RUNS) {
    const skip = run.tls && !hasOpenssl() ? "the openssl command is missing" : false;
    it(`receives ${run.events} events in order over ${run.name}, its queue bounded`, { skip }, async (t) => {
      const identity = run.tls ? makeCertificate() : null;
      const { command, args } = splitCommand(SERVER_CMD);
      const tlsArgs = identity ? ["--tls-cert", identity.cert, "--tls-key", identity.key] : [];
      const server = await startServer(command, [...args, "--port", "0", "--max-received-events", String(BOUND), ...tlsArgs]);
      try {
        const url = `${identity ? "https" : "http"}://127.0.0.1:${server.port}/session`;
        const socket = io(url, { transports: [run.transport], forceNew: true, reconnection: false, ca: identity?.ca });
        await withTimeout(new Promise((resolve, reject) => {
          socket.on("connect", resolve);
          socket.on("connect_error", reject);
        }), WAIT_MS, "connect");
        const start = Date.now();
        let report;
        for (let sent = 0; sent < run.events; ) {
          for (const end = sent + run.burst; sent < end; sent++) socket.emit("n", sent);
          report = await withTimeout(socket.emitWithAck("report"), WAIT_MS, "report");
        }
        t.diagnostic(`${run.name}: ${Date.now() - start} ms, most waiting on the server: ${report.mostWaiting}`);
        assert.equal(report.count, run.events);
        assert.equal(report.ordered, true);
        assert.ok(report.mostWaiting <= BOUND + run.overshoot + 1,
          `at most ${BOUND} + one read waiting, saw ${report.mostWaiting}`);
        // After each 1000 events the coroutine waits until the bound is reached (or a report is asked for).
        assert.ok(report.mostWaiting >= BOUND, `the bound was reached, saw ${report.mostWaiting}`);
        socket.close();
      } finally {
        await server.stop();
        identity?.remove();
      }
    });
  }
});
