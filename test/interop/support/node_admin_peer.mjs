// The Node peer of the Admin UI's mixed-cluster test (admin.test.mjs): Node's socket.io 4.8 with the
// official @socket.io/redis-adapter 8.3 (classic `createAdapter`) and the official @socket.io/admin-ui
// 0.5.1 `instrument` (no authentication, development mode), as a Node application would run them.
// Namespaces "/" and the admin one ("/admin"); no handler of its own.
//
// The admin-ui package is the copy client/ installs for the UI build the library embeds (its server part
// needs only bcryptjs and debug, installed beside it), so the UI served and the Node peer are one version.
//
// Env: PORT (0 = any), REDIS_PORT, SERVER_ID (the `serverId` option). Prints "listening <port>".
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const requireFromClient = createRequire(new URL("../../../client/package.json", import.meta.url));
const { instrument } = requireFromClient("@socket.io/admin-ui");

const redisUrl = `redis://127.0.0.1:${process.env.REDIS_PORT}`;
const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
pub.on("error", () => {});
sub.on("error", () => {});
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout: 2000 }) });
instrument(io, { auth: false, mode: "development", serverId: process.env.SERVER_ID });

process.on("SIGTERM", () => {
  io.close();
  pub.quit().catch(() => {});
  sub.quit().catch(() => {});
  process.exit(0);
});

httpServer.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
