// A throwaway redis-server for the cluster suites: find the binary, pick a free loopback port,
// start it without persistence, wait (bounded) until it answers PING, kill it, start it again on
// the same port. Never leaves a server behind, even if the test process exits abruptly.

import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer, connect } from "node:net";
import { delimiter, join } from "node:path";

/** Bound for a started redis-server to answer PING. */
export const REDIS_READY_TIMEOUT_MS = 5_000;

const liveRedis = new Set();
process.on("exit", () => {
  for (const child of liveRedis) {
    try {
      child.kill("SIGKILL");
    } catch {
      // ignore
    }
  }
});

/**
 * The redis-server binary: $REDIS_SERVER if set, else the first `redis-server` on PATH, else
 * /usr/bin/redis-server (Debian). null when none is executable.
 */
export function findRedisServer() {
  const candidates = [];
  if (process.env.REDIS_SERVER) candidates.push(process.env.REDIS_SERVER);
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir) candidates.push(join(dir, "redis-server"));
  candidates.push("/usr/bin/redis-server");
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Sends one inline command on a fresh connection and resolves with the first reply line
 * (e.g. "+PONG"); rejects on connection error or after ms milliseconds.
 */
export function redisCommandLine(port, command, ms = 1_000) {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply to ${command} within ${ms} ms`));
    }, ms);
    sock.on("connect", () => sock.write(`${command}\r\n`));
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      const eol = buf.indexOf("\r\n");
      if (eol >= 0) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.slice(0, eol));
      }
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    });
  });
}

/**
 * Starts `binary --port <port> --bind 127.0.0.1 --save "" --appendonly no ...args` (port 0 or absent:
 * a free one) and waits until it answers PING (every 50 ms, bounded by readyTimeoutMs).
 * Returns { port, exited, kill, alive, output }:
 *   kill(signal = "SIGKILL") sends the signal if still running, resolves once it exited;
 *   alive()  true until the process exited;
 *   output() what it printed (stdout and stderr, the last 8 KB), for error messages.
 */
export async function startRedis(binary, { port = 0, readyTimeoutMs = REDIS_READY_TIMEOUT_MS, args = [] } = {}) {
  const usePort = port || (await freePort());
  const child = spawn(binary, ["--port", String(usePort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  liveRedis.add(child);
  let out = "";
  const keep = (d) => {
    out = (out + d.toString()).slice(-8192);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      liveRedis.delete(child);
      resolve(exitInfo);
    });
  });
  let spawnError = null;
  child.once("error", (err) => {
    spawnError = err;
  });
  const kill = async (signal = "SIGKILL") => {
    if (!exitInfo) child.kill(signal);
    return exited;
  };

  const deadline = Date.now() + readyTimeoutMs;
  let lastError = "no attempt";
  for (;;) {
    if (spawnError) {
      await kill();
      throw new Error(`cannot spawn ${binary}: ${spawnError.message}`);
    }
    if (exitInfo) throw new Error(`redis-server on port ${usePort} exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before answering PING; output: ${out}`);
    try {
      const line = await redisCommandLine(usePort, "PING", 500);
      if (line === "+PONG") break;
      lastError = `reply ${JSON.stringify(line)}`;
    } catch (err) {
      lastError = err.message;
    }
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`redis-server on port ${usePort} did not answer PING within ${readyTimeoutMs} ms (${lastError}); output: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port: usePort, exited, kill, alive: () => !exitInfo, output: () => out };
}
