// A throwaway Redis Cluster for the interop suites: `masters` redis-server processes with
// `--cluster-enabled yes` on free loopback ports (client port and cluster bus port both picked free, so
// no port + 10000 arithmetic can leave the range), their cluster files in a temporary directory, joined
// by `redis-cli --cluster create`, ready once every node reports `cluster_state:ok` with all 16384 slots
// served. stop() kills every node and removes the directory; the nodes die with the test process too
// (support/redis.mjs), and the directory is removed at its exit.

import { execFile } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { freePort, startRedis } from "./redis.mjs";

/** Bound for `redis-cli --cluster create` plus the wait for `cluster_state:ok` on every node. */
export const CLUSTER_READY_TIMEOUT_MS = 20_000;

const liveDirs = new Set();
process.on("exit", () => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * The redis-cli binary: $REDIS_CLI if set, else the one next to `redisServer`, else the first on PATH,
 * else /usr/bin/redis-cli. null when none is executable.
 */
export function findRedisCli(redisServer) {
  const candidates = [];
  if (process.env.REDIS_CLI) candidates.push(process.env.REDIS_CLI);
  if (redisServer) candidates.push(join(dirname(redisServer), "redis-cli"));
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir) candidates.push(join(dir, "redis-cli"));
  candidates.push("/usr/bin/redis-cli");
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

/** Runs `cli args`, bounded by ms; resolves with its stdout, rejects with its output on failure. */
function run(cli, args, ms) {
  return new Promise((resolve, reject) => {
    execFile(cli, args, { timeout: ms }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cli} ${args.join(" ")} failed (${err.message}): ${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Starts a Redis Cluster of `masters` masters (no replicas). Returns { ports, stop }: ports are the nodes'
 * client ports (loopback); stop() kills every node and removes the cluster files.
 */
export async function startRedisCluster(redisServer, redisCli, { masters = 3, readyTimeoutMs = CLUSTER_READY_TIMEOUT_MS } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sio-interop-cluster-"));
  liveDirs.add(dir);
  const nodes = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };
  try {
    for (let i = 0; i < masters; ++i) {
      // A port picked free may be taken before redis-server binds it (suites run in parallel): retry.
      for (let attempt = 1; ; ++attempt) {
        try {
          const bus = await freePort();
          nodes.push(
            await startRedis(redisServer, {
              args: ["--cluster-enabled", "yes", "--cluster-port", String(bus), "--cluster-config-file",
                     join(dir, `nodes-${i}-${attempt}.conf`), "--cluster-node-timeout", "3000", "--dir", dir],
            }),
          );
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
    }
    const ports = nodes.map((n) => n.port);
    const deadline = Date.now() + readyTimeoutMs;
    await run(redisCli, ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], readyTimeoutMs);
    for (const port of ports) {
      for (;;) {
        const info = await run(redisCli, ["-h", "127.0.0.1", "-p", String(port), "CLUSTER", "INFO"], 2_000).catch((e) => e.message);
        if (info.includes("cluster_state:ok") && info.includes("cluster_slots_ok:16384") && info.includes(`cluster_known_nodes:${masters}`)) break;
        if (Date.now() > deadline) throw new Error(`the node on port ${port} did not report the cluster ok within ${readyTimeoutMs} ms: ${info}`);
        await new Promise((r) => setTimeout(r, 50)); // polling Redis
      }
    }
    return { ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
