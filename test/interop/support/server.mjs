// Server processes for the interop suites: start a server binary, learn the port it listens on
// from its stdout, stop it (SIGTERM, bounded, SIGKILL as a fallback), and never leave one behind.
// Also the bounded waits the suites share. Each suite keeps its own command line (which binary,
// which flags) and passes it in.

import { it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Default bound for a server to print its port. */
export const STARTUP_TIMEOUT_MS = 10_000;
/** Default bound for a server to exit after SIGTERM. */
export const STOP_TIMEOUT_MS = 3_000;
/** Default port line: "listening <port>" (the contract of the sio test servers). */
export const LISTENING_LINE = /^listening (\d+)\s*$/;

const liveServers = new Set();
// Safety net: never leave a server behind, even if the test process dies abruptly.
process.on("exit", () => {
  for (const child of liveServers) {
    try {
      child.kill("SIGKILL");
    } catch {
      // ignore
    }
  }
});

/**
 * Splits a command given as one string (e.g. an environment variable such as
 * "node /tmp/mock/server.mjs") on whitespace. Returns { command, args }.
 */
export function splitCommand(text) {
  const [command, ...args] = text.trim().split(/\s+/);
  return { command, args };
}

/**
 * Resolves or rejects like `promise`, but rejects with "timed out after <ms> ms: <what>" if it
 * has not settled within ms milliseconds. what: a string, or a function returning one (called
 * only on timeout, so it can describe the state at that moment).
 */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    Promise.resolve(promise).finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${typeof what === "function" ? what() : what}`)), ms);
    }),
  ]);
}

/**
 * Spawns `command args` (stdout piped, stderr inherited) and waits until it prints its port.
 *
 * options:
 *   name             used in error messages (default "server");
 *   env              extra environment variables, added to process.env (e.g. { PORT: "0" });
 *   portPattern      RegExp matched against each stdout line; the first capture group that
 *                    matched is the port (default LISTENING_LINE, "listening <port>");
 *   startupTimeoutMs bound for the port line (default STARTUP_TIMEOUT_MS);
 *   stopTimeoutMs    bound for the exit after SIGTERM in stop() (default STOP_TIMEOUT_MS);
 *   onUnexpectedExit called with { port, time, code, signal } if the process exits after it
 *                    printed its port without stop() or kill() having been called (a crash).
 *
 * Rejects (after killing the process) if it cannot be spawned, exits first, prints no port line
 * in time, or prints a port out of range; the messages include its stdout so far.
 *
 * Returns { port, url, exited, stop, kill, alive }:
 *   url       "http://127.0.0.1:<port>";
 *   exited    promise of { code, signal }, resolved when the process exits;
 *   stop()    sends SIGTERM and resolves with { code, signal }; rejects if the process had already
 *             exited (it crashed during the tests), or if it does not exit within stopTimeoutMs
 *             (then it is killed with SIGKILL);
 *   kill(signal = "SIGKILL")  sends the signal if the process is still running and resolves with
 *             { code, signal } once it has exited; never fails because of an earlier crash;
 *   alive()   true until the process has exited.
 * The stdout of the process is read until it exits, so it never blocks on a full pipe.
 */
export async function startServer(command, args = [], options = {}) {
  const {
    name = "server",
    env,
    portPattern = LISTENING_LINE,
    startupTimeoutMs = STARTUP_TIMEOUT_MS,
    stopTimeoutMs = STOP_TIMEOUT_MS,
    onUnexpectedExit,
  } = options;
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "inherit"],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  liveServers.add(child);
  let exitInfo = null;
  let stopping = false;
  let port;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      liveServers.delete(child);
      if (!stopping && port !== undefined) onUnexpectedExit?.({ port, time: Date.now(), code, signal });
      resolve(exitInfo);
    });
  });

  const stdoutLines = [];
  try {
    port = await new Promise((resolve, reject) => {
      const rl = createInterface({ input: child.stdout });
      const timer = setTimeout(
        () => reject(new Error(`${name} did not print its port (a line matching ${portPattern}) within ${startupTimeoutMs} ms; stdout so far: ${JSON.stringify(stdoutLines)}`)),
        startupTimeoutMs,
      );
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot spawn ${name} ${JSON.stringify([command, ...args])}: ${err.message}`));
      });
      exited.then((info) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before printing its port (code ${info.code}, signal ${info.signal}); stdout: ${JSON.stringify(stdoutLines)}`));
      });
      let found = false;
      rl.on("line", (line) => {
        stdoutLines.push(line);
        const m = found ? null : portPattern.exec(line);
        if (m) {
          found = true;
          clearTimeout(timer);
          resolve(Number(m.slice(1).find((g) => g !== undefined)));
        }
      });
    });
    if (!(Number.isInteger(port) && port > 0 && port < 65536)) {
      throw new Error(`${name} printed a bad port ${port}; stdout: ${JSON.stringify(stdoutLines)}`);
    }
  } catch (err) {
    stopping = true;
    child.kill("SIGKILL");
    throw err;
  }

  async function stop() {
    if (exitInfo) {
      throw new Error(`${name} exited unexpectedly during the tests (code ${exitInfo.code}, signal ${exitInfo.signal})`);
    }
    stopping = true;
    child.kill("SIGTERM");
    try {
      return await withTimeout(exited, stopTimeoutMs, `${name} exit on SIGTERM`);
    } catch {
      // exited never rejects: this is the timeout.
      child.kill("SIGKILL");
      await exited;
      throw new Error(`${name} did not exit within ${stopTimeoutMs} ms of SIGTERM (killed with SIGKILL)`);
    }
  }

  async function kill(signal = "SIGKILL") {
    stopping = true;
    if (!exitInfo) child.kill(signal);
    return exited;
  }

  return { port, url: `http://127.0.0.1:${port}`, exited, stop, kill, alive: () => !exitInfo };
}

/**
 * One server for the enclosing describe(): start() (returning what startServer() returns) runs
 * in a before() hook, and the returned handle gets its fields (port, url, stop, kill, ...) then.
 * Call handle.itStops() as the last test of that describe(): it checks that the server is still
 * alive and exits on SIGTERM. The after() hook only makes sure the process is gone, whatever
 * happened.
 */
export function useServer(start) {
  const handle = {
    itStops() {
      it("server is still running and exits on SIGTERM", { timeout: STOP_TIMEOUT_MS + 2_000 }, async () => {
        assert.ok(handle.stop, "server was started");
        const stop = handle.stop;
        handle.stop = null;
        await stop();
      });
    },
  };
  before(async () => {
    Object.assign(handle, await start());
  });
  after(async () => {
    if (handle.kill) await handle.kill();
  });
  return handle;
}
