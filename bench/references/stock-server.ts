/**
 * The "stock" reference: the cluster setup the Socket.IO docs show. Plain Socket.IO, the classic
 * `createAdapter` of @socket.io/redis-adapter on node-redis clients, and no persistence. It speaks
 * the same `room:join` / `room:send` / `room:message` events as roomcast, with the same payloads.
 *
 * Env: PORT, HOST, REDIS_URL, REDIS_PREFIX (the adapter's `key`, so runs never share channels).
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { formatMessageId, type ChatMessage } from "../../protocol/index.js";

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";

// As in the adapter's README: a publishing client and a duplicate for subscriptions.
const pubClient = createClient({ url: process.env.REDIS_URL });
const subClient = pubClient.duplicate();
await Promise.all([pubClient.connect(), subClient.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(pubClient, subClient, { key: process.env.REDIS_PREFIX ?? "socket.io" }),
});

type Reply = (answer: object) => void;
const asReply = (ack: unknown): Reply => (typeof ack === "function" ? (ack as Reply) : () => {});
const isText = (value: unknown): value is string => typeof value === "string" && value.length > 0;

// Ids in roomcast's format; `prev` chains the messages this node sent to each room (nothing is stored).
let lastMs = 0;
let seq = 0;
const lastIdOfRoom = new Map<string, string>();

io.use((socket, next) => {
  const user = (socket.handshake.auth as { user?: unknown }).user;
  if (!isText(user)) return next(new Error("auth.user is required"));
  socket.data.user = user;
  next();
});

io.on("connection", (socket) => {
  socket.on("room:join", (request: { room?: unknown }, ack: unknown) => {
    const reply = asReply(ack);
    if (!isText(request?.room)) return reply({ ok: false, error: { code: "bad_request", message: "room" } });
    void socket.join(request.room);
    reply({ ok: true, room: request.room, members: [], history: [], recovered: true });
  });

  socket.on("room:send", (request: { room?: unknown; text?: unknown }, ack: unknown) => {
    const reply = asReply(ack);
    const { room, text } = request ?? {};
    if (!isText(room) || !isText(text))
      return reply({ ok: false, error: { code: "bad_request", message: "room, text" } });
    if (!socket.rooms.has(room)) return reply({ ok: false, error: { code: "not_joined", message: room } });
    const ts = Date.now();
    seq = ts === lastMs ? seq + 1 : 0;
    lastMs = ts;
    const id = formatMessageId(ts, seq);
    const message: ChatMessage = {
      id,
      room,
      from: socket.data.user as string,
      text,
      ts,
      prev: lastIdOfRoom.get(room) ?? "",
    };
    lastIdOfRoom.set(room, id);
    io.to(room).emit("room:message", message);
    reply({ ok: true, message });
  });
});

httpServer.listen(port, host);

process.on("SIGTERM", () => {
  void io.close().finally(() => {
    void Promise.allSettled([pubClient.quit(), subClient.quit()]).finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(0), 3000).unref();
});
