// `node server.js --port N`: Socket.IO 4 on its default engine (ws), over WebSocket and HTTP long
// polling. Clients `join` a room by name and `talk` {room, text}; the text goes to everyone in
// the room, the sender included (as in DungeonTalk and the other peers).
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[process.argv.indexOf("--port") + 1] || 9002);
const http = createServer();
const io = new Server(http, { cors: { origin: "*" } });
io.on("connection", (socket) => {
  // Acknowledged once joined, so a subscriber knows it hears the room from then on.
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("talk", (msg) => io.to(msg.room).emit("talk", msg.text));
});
http.listen(port, "127.0.0.1", () => console.log(`socket.io listening on http://127.0.0.1:${port}`));
