// The Node.js peer of the benchmark contract (bench/README.md): the official socket.io, default options.
// Port: --port N, else $PORT, else 3000 (0 picks a free port). Prints `listening <port> pid <pid>`.
import { createServer } from "node:http";
import { Server } from "socket.io";

const i = process.argv.indexOf("--port");
const port = Number(i > 0 ? process.argv[i + 1] : (process.env.PORT ?? 3000));
const count = (n) => Math.max(0, Math.min(1e6, Math.trunc(Number(n)) || 0));
const httpServer = createServer();
const io = new Server(httpServer);
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
