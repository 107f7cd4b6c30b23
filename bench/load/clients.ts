import { io } from "socket.io-client";
import { WebSocket } from "ws";
import { within } from "../../server/dev/deadline.js";
import type { ClientProtocol } from "../targets/target.js";

/** What a load client reports back to the generator. */
export interface ClientHooks {
  /** A `room:message` arrived; `text` as sent. */
  onMessage(text: string): void;
  /** The ack of a send arrived. */
  onAck(ok: boolean): void;
  /** The connection closed without the generator asking. */
  onLost(reason: string): void;
}

/** One connected chat client, the same for every target. */
export interface LoadClient {
  join(room: string): Promise<void>;
  /** Sends a chat message; its ack goes to `hooks.onAck`. */
  send(room: string, text: string): void;
  close(): void;
}

export interface ConnectOptions {
  protocol: ClientProtocol;
  url: string;
  user: string;
  hooks: ClientHooks;
  timeoutMs: number;
}

/** Connects one client; it rejects when the connection or the handshake fails or takes too long. */
export function connectClient(options: ConnectOptions): Promise<LoadClient> {
  return options.protocol === "socket.io" ? connectSocketIo(options) : connectRawWs(options);
}

interface AckBody {
  ok?: unknown;
  error?: { code?: string; message?: string };
}

const failure = (body: AckBody | undefined) => `${body?.error?.code ?? "no answer"}: ${body?.error?.message ?? ""}`;

async function connectSocketIo({ url, user, hooks, timeoutMs }: ConnectOptions): Promise<LoadClient> {
  const socket = io(url, {
    auth: { user },
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
  });
  let closing = false;
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", (error) => reject(error));
      }),
      `${user} to connect to ${url}`,
      timeoutMs,
    );
  } catch (error) {
    socket.close();
    throw error;
  }
  socket.on("room:message", (message: { text?: unknown }) => {
    if (typeof message?.text === "string") hooks.onMessage(message.text);
  });
  socket.on("disconnect", (reason) => {
    if (!closing) hooks.onLost(reason);
  });
  const onAck = (body: AckBody | undefined) => hooks.onAck(body?.ok === true);
  return {
    async join(room) {
      const answer = (await socket.timeout(timeoutMs).emitWithAck("room:join", { room })) as AckBody;
      if (answer?.ok !== true) throw new Error(`${user} could not join ${room}: ${failure(answer)}`);
    },
    send(room, text) {
      socket.emit("room:send", { room, text }, onAck);
    },
    close() {
      closing = true;
      socket.close();
    },
  };
}

interface RawFrame extends AckBody {
  ack?: unknown;
  event?: unknown;
  data?: { text?: unknown };
}

async function connectRawWs({ url, user, hooks, timeoutMs }: ConnectOptions): Promise<LoadClient> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/?user=${encodeURIComponent(user)}`, {
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
  });
  let closing = false;
  let nextAck = 1;
  /** Acks the generator waits for (joins); sends report through hooks.onAck. */
  const waiting = new Map<number, (body: RawFrame) => void>();
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      }),
      `${user} to connect to ${url}`,
      timeoutMs,
    );
  } catch (error) {
    ws.terminate();
    throw error;
  }
  ws.on("message", (data) => {
    let frame: RawFrame;
    try {
      frame = JSON.parse(String(data)) as RawFrame;
    } catch {
      return;
    }
    if (frame.event === "room:message") {
      if (typeof frame.data?.text === "string") hooks.onMessage(frame.data.text);
      return;
    }
    if (typeof frame.ack !== "number") return;
    const waiter = waiting.get(frame.ack);
    if (waiter) {
      waiting.delete(frame.ack);
      waiter(frame);
    } else {
      hooks.onAck(frame.ok === true);
    }
  });
  ws.on("error", () => {}); // Followed by close.
  ws.on("close", (code) => {
    if (!closing) hooks.onLost(`closed ${code}`);
  });
  return {
    async join(room) {
      const ack = nextAck++;
      const answer = await within(
        new Promise<RawFrame>((resolve) => {
          waiting.set(ack, resolve);
          ws.send(JSON.stringify({ op: "join", room, ack }));
        }),
        `${user} to join ${room}`,
        timeoutMs,
      ).finally(() => waiting.delete(ack));
      if (answer.ok !== true) throw new Error(`${user} could not join ${room}: ${failure(answer)}`);
    },
    send(room, text) {
      ws.send(JSON.stringify({ op: "send", room, text, ack: nextAck++ }));
    },
    close() {
      closing = true;
      ws.terminate();
    },
  };
}
