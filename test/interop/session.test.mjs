// Interop: the official socket.io-client against a session written as a coroutine (socket.receive()) on
// the sio test server's "/session" namespace (test/sio_test_server.cpp, setup_session). The client sends
// many events in one burst; the server's coroutine takes them slowly. Every event must arrive, in order,
// and the events waiting on the server must stay within the bound (--max-received-events) plus what one
// read brings in: reading from the connection pauses while the bound is reached.
//
// Run: SIO_SERVER=/path/to/sio_test_server node --test test/interop/session.test.mjs

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { splitCommand, startServer, withTimeout } from "./support/server.mjs";

const SERVER_CMD = (process.env.SIO_SERVER ?? "").trim();
const SKIP = SERVER_CMD ? false : "SIO_SERVER is not set (path of the Socket.IO test server binary)";
const BOUND = 1000; // --max-received-events
const WAIT_MS = 60_000;
// A plain WebSocket read brings in at most 64 KiB; the smallest event frame, 42["n",0] with a masked
// frame header, is 15 bytes. A polling POST is handed over packet by packet and stops at the bound.
const READ_OVERSHOOT = { websocket: Math.ceil(65536 / 15), polling: 1 };
const EVENTS = { websocket: 100_000, polling: 20_000 };
// Polling: the client puts everything it has buffered in one POST, and a POST holds at most 10 000
// packets (engine max_packets_per_payload): the events go in bursts of 5 000, each ended by a report.
const BURST = { websocket: 100_000, polling: 5_000 };

describe("a session coroutine with the official client", { skip: SKIP, timeout: 120_000 }, () => {
  for (const transport of ["websocket", "polling"]) {
    it(`receives ${EVENTS[transport]} events in order over ${transport}, its queue bounded`, async (t) => {
      const { command, args } = splitCommand(SERVER_CMD);
      const server = await startServer(command, [...args, "--port", "0", "--max-received-events", String(BOUND)]);
      try {
        const socket = io(`${server.url}/session`, { transports: [transport], forceNew: true, reconnection: false });
        await withTimeout(new Promise((resolve, reject) => {
          socket.on("connect", resolve);
          socket.on("connect_error", reject);
        }), WAIT_MS, "connect");
        const start = Date.now();
        let report;
        for (let sent = 0; sent < EVENTS[transport]; ) {
          for (const end = sent + BURST[transport]; sent < end; sent++) socket.emit("n", sent);
          report = await withTimeout(socket.emitWithAck("report"), WAIT_MS, "report");
        }
        t.diagnostic(`${transport}: ${Date.now() - start} ms, most waiting on the server: ${report.mostWaiting}`);
        assert.equal(report.count, EVENTS[transport]);
        assert.equal(report.ordered, true);
        assert.ok(report.mostWaiting <= BOUND + READ_OVERSHOOT[transport] + 1,
          `at most ${BOUND} + one read waiting, saw ${report.mostWaiting}`);
        socket.close();
      } finally {
        await server.stop();
      }
    });
  }
});
