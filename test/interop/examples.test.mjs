// The examples start, serve an official client, and stop cleanly on SIGTERM.
// Env: SIO_EXAMPLES_DIR = the build folder of the examples.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";
import { Socket as EngineSocket } from "engine.io-client";

const DIR = process.env.SIO_EXAMPLES_DIR;
const SKIP = DIR ? false : "SIO_EXAMPLES_DIR is not set";
const WAIT_MS = 5000;

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), WAIT_MS);
    }),
  ]);
}

// Starts an example with PORT=0 and resolves with { proc, port } once it prints its port.
function start(name) {
  const proc = spawn(`${DIR}/${name}`, [], { env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: proc.stdout });
  const ready = new Promise((resolve, reject) => {
    proc.once("error", reject);
    proc.once("exit", (code) => reject(new Error(`${name} exited early (${code})`)));
    lines.on("line", (line) => {
      const m = line.match(/(?:listening (\d+)|localhost:(\d+))/);
      if (m) resolve({ proc, port: Number(m[1] ?? m[2]) });
    });
  });
  return withTimeout(ready, `${name} start`);
}

function stop(proc) {
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  proc.kill("SIGTERM");
  return withTimeout(exited, "exit on SIGTERM");
}

describe("examples", { skip: SKIP, timeout: 30000 }, () => {
  it("engineio_echo echoes a message", async () => {
    const { proc, port } = await start("engineio_echo");
    try {
      const socket = new EngineSocket(`http://127.0.0.1:${port}`, { path: "/engine.io/" });
      const echoed = new Promise((resolve) => socket.on("message", resolve));
      socket.on("open", () => socket.send("hello"));
      assert.equal(await withTimeout(echoed, "echo"), "hello");
      socket.close();
    } finally {
      const { code } = await stop(proc);
      assert.equal(code, 0);
    }
  });

  it("conformance answers message-with-ack", async () => {
    const { proc, port } = await start("conformance");
    try {
      const socket = io(`http://127.0.0.1:${port}`, { forceNew: true, auth: { token: "t" } });
      const auth = new Promise((resolve) => socket.on("auth", resolve));
      assert.deepEqual(await withTimeout(auth, "auth event"), { token: "t" });
      const answer = await withTimeout(socket.emitWithAck("message-with-ack", 1, "2"), "ack");
      assert.equal(answer, 1);
      socket.close();
    } finally {
      const { code } = await stop(proc);
      assert.equal(code, 0);
    }
  });

  it("attach_beast shares its port between the application and sio", async () => {
    const { proc, port } = await start("attach_beast");
    try {
      const res = await withTimeout(fetch(`http://127.0.0.1:${port}/hello`), "application route");
      assert.equal(await res.text(), "hello from the application\n");
      const socket = io(`http://127.0.0.1:${port}`, { forceNew: true, transports: ["polling", "websocket"] });
      const hello = new Promise((resolve) => socket.on("hello", resolve));
      assert.equal(await withTimeout(hello, "hello event"), "from sio");
      socket.close();
    } finally {
      const { code } = await stop(proc);
      assert.equal(code, 0);
    }
  });
});
