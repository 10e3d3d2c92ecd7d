// The Node peer of the Redis streams interop tests: Node's socket.io 4.8 with the official
// @socket.io/redis-streams-adapter 0.3.1 and connection state recovery, implementing the parts of the
// contract of test/sio_test_server.cpp that test/interop/redis-streams.test.mjs uses, on "/":
//   on connection           emit "welcome" {id, nsp, auth, recovered, data}
//   "ack" ...args (with ack) ack with the same args (a round trip)
//   "join" room [ack]       join, ack(rooms)
//   "set-data" value [ack]  socket.data = value, ack()
//   "util" request [ack]    ops join, leave, disconnect, fetch, count, server-emit, emit, ask-all (the request
//                           and answer shapes of sio_test_server)
// Server-side event "server-ping" acks "pong from node"; "note" ...args is emitted to the local clients as
// "noted".
// Env: PORT (0 = any), REDIS_PORT, RECOVERY_MS (maxDisconnectionDuration), SHARDED=1 (useShardedPubSub).
// Prints "listening <port>".
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";

process.on("uncaughtException", (err) => console.error(`node_streams_peer: ignored uncaught exception: ${err?.stack ?? err}`));
process.on("unhandledRejection", (err) => console.error(`node_streams_peer: ignored unhandled rejection: ${err?.stack ?? err}`));

const redis = createClient({ url: `redis://127.0.0.1:${process.env.REDIS_PORT}` });
redis.on("error", () => {});
await redis.connect();

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(redis, { useShardedPubSub: process.env.SHARDED === "1" }),
  connectionStateRecovery: { maxDisconnectionDuration: Number(process.env.RECOVERY_MS ?? 60000) },
});

function select(req) {
  let op = io.of("/");
  if (req.in && req.in.length) op = op.in(req.in);
  if (req.except && req.except.length) op = op.except(req.except);
  if (req.local) op = op.local;
  return op;
}

async function util(req) {
  const target = select(req);
  try {
    switch (req.op) {
      case "join":
        target.socketsJoin(req.rooms);
        return { error: null };
      case "leave":
        target.socketsLeave(req.rooms);
        return { error: null };
      case "disconnect":
        target.disconnectSockets(!!req.close);
        return { error: null };
      case "fetch": {
        const sockets = await target.fetchSockets();
        return {
          error: null,
          sockets: sockets
            .map((s) => ({ id: s.id, rooms: [...s.rooms].sort(), data: s.data ?? null, auth: s.handshake.auth }))
            .sort((a, b) => (a.id < b.id ? -1 : 1)),
        };
      }
      case "count":
        return { count: await io.of("/").adapter.serverCount() };
      case "server-emit":
        if (req.timeout) {
          const responses = await io.serverSideEmitWithAck(req.event, ...(req.args ?? []));
          return { error: null, responses };
        }
        io.serverSideEmit(req.event, ...(req.args ?? []));
        return { error: null };
      case "emit":
        target.emit(req.event, ...(req.args ?? []));
        return { error: null };
      case "ask-all": {
        const responses = await target.timeout(req.timeout ?? 2000).emitWithAck(req.event, ...(req.args ?? []));
        return { error: null, responses };
      }
      default:
        return { error: "unknown op" };
    }
  } catch (err) {
    return { error: String(err.message ?? err) };
  }
}

io.on("connection", (socket) => {
  socket.emit("welcome", { id: socket.id, nsp: "/", auth: socket.handshake.auth, recovered: socket.recovered, data: socket.data ?? null });
  socket.on("ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack([...socket.rooms]);
  });
  socket.on("set-data", (value, ack) => {
    socket.data = value;
    if (typeof ack === "function") ack();
  });
  socket.on("util", async (req, ack) => {
    const answer = await util(req);
    if (typeof ack === "function") ack(answer);
  });
});
io.on("server-ping", (ack) => ack("pong from node"));
io.on("note", (...args) => io.local.emit("noted", ...args));

httpServer.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
process.on("SIGTERM", () => {
  io.close();
  redis.quit().finally(() => process.exit(0));
});
