import { WebSocket } from "ws";
import { within } from "../../server/dev/deadline.js";
import type { ClientProtocol } from "../targets/target.js";
import { connectWire } from "./socket-io-wire.js";

/** What a load client reports back to the generator. */
export interface ClientHooks {
  /** A `room:message` arrived; `text` as sent, `room` the room it was sent to. */
  onMessage(text: string, room: string): void;
  /** The connection closed without the generator asking. */
  onLost(reason: string): void;
}

/** The server's answer to a send: accepted, or the error code it gave ("no answer" when it gave none). */
export type SendAnswer = { ok: true } | { ok: false; code: string };

/** One connected chat client, the same for every target. */
export interface LoadClient {
  /** False once the connection has closed, whoever closed it. */
  readonly connected: boolean;
  join(room: string): Promise<void>;
  /** Sends a chat message to a room; `onAnswer` gets the ack (never called if none comes). */
  send(room: string, text: string, onAnswer: (answer: SendAnswer) => void): void;
  /** Sends a direct message (`dm:send`); Socket.IO targets only (scenario 7's flooder). */
  sendDirect(to: string, text: string, onAnswer: (answer: SendAnswer) => void): void;
  close(): void;
}

export interface ConnectOptions {
  protocol: ClientProtocol;
  url: string;
  user: string;
  hooks: ClientHooks;
  timeoutMs: number;
  /** Source address to connect from (scenario 6 spreads its workers over 127.0.0.x); default: the system's choice. */
  localAddress?: string;
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

const answerOf = (body: AckBody | undefined): SendAnswer =>
  body?.ok === true ? { ok: true } : { ok: false, code: body?.error?.code ?? "no answer" };

async function connectSocketIo({ url, user, hooks, timeoutMs, localAddress }: ConnectOptions): Promise<LoadClient> {
  let closing = false;
  const socket = await connectWire({
    url,
    auth: { user },
    timeoutMs,
    ...(localAddress && { localAddress }),
    onEvent(event, [message]) {
      if (event !== "room:message") return;
      const { text, room } = (message ?? {}) as { text?: unknown; room?: unknown };
      if (typeof text === "string") hooks.onMessage(text, String(room));
    },
    onClose(reason) {
      if (!closing) hooks.onLost(reason);
    },
  });
  return {
    get connected() {
      return socket.connected;
    },
    async join(room) {
      const answer = await within(
        new Promise<AckBody | undefined>((resolve) =>
          socket.emit("room:join", [{ room }], (body) => resolve(body as AckBody | undefined)),
        ),
        `${user} to join ${room}`,
        timeoutMs,
      );
      if (answer?.ok !== true) throw new Error(`${user} could not join ${room}: ${failure(answer)}`);
    },
    send(room, text, onAnswer) {
      socket.emit("room:send", [{ room, text }], (body) => onAnswer(answerOf(body as AckBody | undefined)));
    },
    sendDirect(to, text, onAnswer) {
      socket.emit("dm:send", [{ to, text }], (body) => onAnswer(answerOf(body as AckBody | undefined)));
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
  data?: { text?: unknown; room?: unknown };
}

async function connectRawWs({ url, user, hooks, timeoutMs, localAddress }: ConnectOptions): Promise<LoadClient> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/?user=${encodeURIComponent(user)}`, {
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
    ...(localAddress && { localAddress }),
  });
  let closing = false;
  let nextAck = 1;
  /** Acks awaited, by number: joins and sends. */
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
      if (typeof frame.data?.text === "string") hooks.onMessage(frame.data.text, String(frame.data.room));
      return;
    }
    if (typeof frame.ack !== "number") return;
    const waiter = waiting.get(frame.ack);
    waiting.delete(frame.ack);
    waiter?.(frame);
  });
  ws.on("error", () => {}); // Followed by close.
  ws.on("close", (code) => {
    if (!closing) hooks.onLost(`closed ${code}`);
  });
  return {
    get connected() {
      return ws.readyState === WebSocket.OPEN;
    },
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
    send(room, text, onAnswer) {
      const ack = nextAck++;
      waiting.set(ack, (frame) => onAnswer(answerOf(frame)));
      ws.send(JSON.stringify({ op: "send", room, text, ack }));
    },
    sendDirect() {
      throw new Error("the raw-ws reference has no direct messages");
    },
    close() {
      closing = true;
      ws.terminate();
    },
  };
}
