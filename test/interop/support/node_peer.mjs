// The Node peer of the Redis cluster tests: Node's socket.io 4.8 with the official @socket.io/redis-adapter
// 8.3 (classic `createAdapter`), implementing the parts of the contract of test/sio_test_server.cpp that the
// cluster tests use, on the main namespace:
//   on connection           emit "welcome" {id, nsp, auth}
//   "ack" ...args (with ack) ack with the same args (the tests' barrier round trip)
//   "join" room [ack]       join, ack(rooms)
//   "set-data" value [ack]  socket.data = value, ack()
//   "util" request [ack]    the utility methods (same request and answer shapes as sio_test_server):
//                           ops join, leave, disconnect, fetch, count, server-emit, emit, ask-all;
//                           fetch also reports each socket's `handshake` (minus sessionStore);
//                           "all-rooms": adapter.allRooms() of the cluster -> {error, rooms (sorted)}; and
//                           "remote": fetchSockets() then, on each RemoteSocket (in id order), `action`:
//                             "emit" event args | "join" rooms | "leave" rooms | "disconnect" close |
//                             "ask" event args [timeout] (timeout(t, 2000).emitWithAck: one value each)
//                           -> {error, ids, responses (ask only)}
// Namespace "/custom": "welcome" and "ack" only (a second namespace on one client connection).
// Server-side event "server-ping" acks "pong from node"; every server-side "note" is emitted to the clients
// as "noted" with its arguments.
// Env: PORT (0 = any), REDIS_PORT, SPECIFIC_RESPONSE_CHANNEL ("1": the adapter option
// publishOnSpecificResponseChannel), SHARDED_MODE ("static", "dynamic" or "dynamic-private": the sharded
// adapter, createShardedAdapter, in that subscription mode, instead of the classic one), REDIS_CLUSTER_PORTS
// ("p1,p2,...": a Redis Cluster on those loopback ports, through the redis package's createCluster,
// instead of REDIS_PORT; with SHARDED_MODE only). Prints "listening <port>"; the tests wait until the server count is 2.
// The official adapter throws on some malformed Redis messages: a broadcast that does not decode throws
// inside node-redis's message dispatch (which then stops delivering messages for good), a request with a
// field of the wrong type rejects in an async handler. This peer catches the first (a wrapper around
// RedisAdapter.prototype.onmessage) and logs both on stderr, so that it survives the hostile-input tests.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter, RedisAdapter } from "@socket.io/redis-adapter";
import { createClient, createCluster } from "redis";

process.on("uncaughtException", (err) => console.error(`node_peer: ignored uncaught exception: ${err?.stack ?? err}`));
process.on("unhandledRejection", (err) => console.error(`node_peer: ignored unhandled rejection: ${err?.stack ?? err}`));
const onmessage = RedisAdapter.prototype.onmessage;
RedisAdapter.prototype.onmessage = function (...args) {
  try {
    return onmessage.apply(this, args);
  } catch (err) {
    console.error(`node_peer: dropped a broadcast the adapter could not handle: ${err?.message ?? err}`);
  }
};

const redisUrl = `redis://127.0.0.1:${process.env.REDIS_PORT}`;
const pub = process.env.REDIS_CLUSTER_PORTS
  ? createCluster({ rootNodes: process.env.REDIS_CLUSTER_PORTS.split(",").map((p) => ({ url: `redis://127.0.0.1:${p}` })) })
  : createClient({ url: redisUrl });
const sub = pub.duplicate();
pub.on("error", () => {});
sub.on("error", () => {});
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: process.env.SHARDED_MODE
    ? createShardedAdapter(pub, sub, { subscriptionMode: process.env.SHARDED_MODE })
    : createAdapter(pub, sub, {
        requestsTimeout: 2000,
        publishOnSpecificResponseChannel: process.env.SPECIFIC_RESPONSE_CHANNEL === "1",
      }),
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
            .map((s) => {
              const { sessionStore, ...handshake } = s.handshake;
              return { id: s.id, rooms: [...s.rooms].sort(), data: s.data ?? null, auth: s.handshake.auth, handshake };
            })
            .sort((a, b) => (a.id < b.id ? -1 : 1)),
        };
      }
      case "count":
        return { count: await io.of("/").adapter.serverCount() };
      case "all-rooms":
        return { error: null, rooms: [...(await io.of("/").adapter.allRooms())].sort() };
      case "server-emit":
        if (req.timeout) {
          // serverSideEmitWithAck has no per-call timeout (io.timeout() returns a BroadcastOperator, which
          // has no serverSideEmitWithAck): the adapter's requestsTimeout (2 s) applies.
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
      case "remote": {
        const sockets = (await target.fetchSockets()).sort((a, b) => (a.id < b.id ? -1 : 1));
        const out = { error: null, ids: sockets.map((s) => s.id) };
        if (req.action === "ask") {
          out.responses = await Promise.all(
            sockets.map((s) => s.timeout(req.timeout ?? 2000).emitWithAck(req.event, ...(req.args ?? []))),
          );
          return out;
        }
        for (const s of sockets) {
          if (req.action === "emit") s.emit(req.event, ...(req.args ?? []));
          else if (req.action === "join") s.join(req.rooms);
          else if (req.action === "leave") for (const r of req.rooms ?? []) s.leave(r);
          else if (req.action === "disconnect") s.disconnect(!!req.close);
          else return { error: "unknown action" };
        }
        return out;
      }
      default:
        return { error: "unknown op" };
    }
  } catch (err) {
    return { error: String(err.message ?? err) };
  }
}

io.on("connection", (socket) => {
  socket.emit("welcome", { id: socket.id, nsp: "/", auth: socket.handshake.auth });
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
io.of("/custom").on("connection", (socket) => {
  socket.emit("welcome", { id: socket.id, nsp: "/custom", auth: socket.handshake.auth });
  socket.on("ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
});
io.on("server-ping", (ack) => ack("pong from node"));
io.on("note", (...args) => io.local.emit("noted", ...args));

httpServer.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
process.on("SIGTERM", () => {
  io.close();
  Promise.allSettled([pub.quit(), sub.quit()]).finally(() => process.exit(0));
});
