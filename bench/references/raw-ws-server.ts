/**
 * The "raw-ws" reference: one `ws` process that broadcasts frames to everyone in a room, with the
 * same JSON payloads as roomcast and no framework around them. It is the per-frame ceiling of a Node
 * process on this machine, not a chat server (no Redis, no validation beyond shape, nothing kept).
 *
 * Protocol (one JSON object per text frame), the user given as `?user=` on the URL:
 * - `{ op: "join", room, ack }` answers `{ ack, ok: true, room }`;
 * - `{ op: "send", room, text, ack }` answers `{ ack, ok: true, message }` and sends
 *   `{ event: "room:message", data: message }` to every member of the room, the sender included.
 *
 * Env: PORT, HOST.
 */
import { WebSocketServer, type WebSocket } from "ws";
import { formatMessageId, type ChatMessage } from "../../protocol/index.js";

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";

const rooms = new Map<string, Set<WebSocket>>();
let lastMs = 0;
let seq = 0;
const lastIdOfRoom = new Map<string, string>();

interface Request {
  op?: unknown;
  room?: unknown;
  text?: unknown;
  ack?: unknown;
}

const isText = (value: unknown): value is string => typeof value === "string" && value.length > 0;

const wss = new WebSocketServer({ host, port, maxPayload: 64 * 1024 });

wss.on("connection", (ws, req) => {
  const user = new URL(req.url ?? "/", "http://localhost").searchParams.get("user") ?? "";
  const joined = new Set<string>();
  const answer = (body: object) => ws.send(JSON.stringify(body));

  ws.on("message", (data) => {
    let request: Request;
    try {
      request = JSON.parse(String(data)) as Request;
    } catch {
      return;
    }
    const { op, room, text, ack } = request;
    if (!isText(room)) return answer({ ack, ok: false, error: { code: "bad_request", message: "room" } });
    if (op === "join") {
      joined.add(room);
      let members = rooms.get(room);
      if (!members) rooms.set(room, (members = new Set()));
      members.add(ws);
      return answer({ ack, ok: true, room });
    }
    if (op === "send" && isText(text)) {
      const members = rooms.get(room);
      if (!members || !joined.has(room))
        return answer({ ack, ok: false, error: { code: "not_joined", message: room } });
      const ts = Date.now();
      seq = ts === lastMs ? seq + 1 : 0;
      lastMs = ts;
      const id = formatMessageId(ts, seq);
      const message: ChatMessage = { id, room, from: user, text, ts, prev: lastIdOfRoom.get(room) ?? "" };
      lastIdOfRoom.set(room, id);
      // Encoded once, framed per member.
      const frame = Buffer.from(JSON.stringify({ event: "room:message", data: message }));
      for (const member of members) member.send(frame, { binary: false });
      return answer({ ack, ok: true, message });
    }
    answer({ ack, ok: false, error: { code: "bad_request", message: "op" } });
  });

  ws.on("close", () => {
    for (const room of joined) rooms.get(room)?.delete(ws);
  });
});

process.on("SIGTERM", () => {
  for (const client of wss.clients) client.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
});
