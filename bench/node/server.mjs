// The Node.js peer of the benchmark contract (bench/README.md): the official socket.io, default options unless told.
// Port: --port N, else $PORT, else 3000 (0 picks a free port). Prints `listening <port> pid <pid>`.
// --parser msgpack: socket.io-msgpack-parser (the parser of socket.io.msgpack.min.js).
// --adapter A --redis-port P: @socket.io/redis-adapter (A = redis: createAdapter; sharded:
// createShardedAdapter, its default subscription mode) or @socket.io/redis-streams-adapter (A = streams) on
// the Redis at 127.0.0.1:P (bench/cross.py runs two servers on one Redis).
import { createServer } from "node:http";
import { Server } from "socket.io";

const arg = (name, def) => {
  const k = process.argv.indexOf(name);
  return k > 0 ? process.argv[k + 1] : def;
};
const port = Number(arg("--port", process.env.PORT ?? 3000));
const count = (n) => Math.max(0, Math.min(1e6, Math.trunc(Number(n)) || 0));
const options = {};
if (arg("--parser", "json") === "msgpack") options.parser = (await import("socket.io-msgpack-parser")).default;
const adapter = arg("--adapter", "");
if (adapter) {
  const { createClient } = await import("redis");
  const pub = createClient({ url: `redis://127.0.0.1:${arg("--redis-port", 6379)}` });
  if (adapter === "streams") {
    await pub.connect();
    options.adapter = (await import("@socket.io/redis-streams-adapter")).createAdapter(pub);
  } else if (adapter === "redis" || adapter === "sharded") {
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    const lib = await import("@socket.io/redis-adapter");
    options.adapter = adapter === "redis" ? lib.createAdapter(pub, sub) : lib.createShardedAdapter(pub, sub);
  } else {
    console.error("server.mjs: --adapter: redis, sharded or streams");
    process.exit(2);
  }
}
const httpServer = createServer();
const io = new Server(httpServer, options);
io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("bcast", (n, payload, ack) => {
    for (let k = count(n); k > 0; --k) io.emit("msg", payload);
    if (typeof ack === "function") ack();
  });
  socket.on("join", (room, ack) => {
    if (typeof room === "string") socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("room-bcast", (room, n, payload, ack) => {
    if (typeof room !== "string") return;
    for (let k = count(n); k > 0; --k) io.to(room).emit("msg", payload);
    if (typeof ack === "function") ack();
  });
});
httpServer.listen({ port, host: "127.0.0.1", backlog: 511 }, () => {
  console.log(`listening ${httpServer.address().port} pid ${process.pid}`);
});
const stop = () => { io.close(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
