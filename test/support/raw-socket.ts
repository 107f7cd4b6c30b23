import { WebSocket } from "ws";
import { within } from "./clients.js";

/**
 * A Socket.IO client spoken by hand over a plain WebSocket (engine.io v4, socket.io-parser v5),
 * for what a real client never does: stop reading, send packets the protocol forbids, or pile up
 * requests without waiting for their answers.
 */
export class RawSocket {
  private ackIds = 0;
  private readonly answers = new Map<number, (answer: unknown) => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on("message", (data, binary) => {
      if (binary) return;
      const frame = data.toString();
      // Engine.io ping → pong, so that the connection stays up as a real client's would.
      if (frame === "2") ws.send("3");
      const ack = /^43(\d+)(\[.*)$/s.exec(frame);
      if (ack) this.answers.get(Number(ack[1]))?.((JSON.parse(ack[2]!) as unknown[])[0]);
    });
  }

  /** Opens the engine.io connection and joins the main namespace as `user`. */
  static async connect(url: string, user: string, headers: Record<string, string> = {}): Promise<RawSocket> {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`, { headers });
    const socket = new RawSocket(ws);
    const joined = new Promise<void>((resolve, reject) => {
      ws.on("message", (data) => {
        const frame = data.toString();
        if (frame.startsWith("0{")) ws.send(`40${JSON.stringify({ user })}`);
        else if (frame.startsWith("40{")) resolve();
        else if (frame.startsWith("44")) reject(new Error(`refused: ${frame}`));
      });
      ws.once("error", reject);
    });
    await within(joined, `${user} to connect by hand`);
    return socket;
  }

  /** Emits an event with an ack id; resolves with the ack (when this client still reads). */
  request(event: string, payload: unknown): Promise<unknown> {
    const id = this.ackIds++;
    const answered = new Promise<unknown>((resolve) => this.answers.set(id, resolve));
    this.send(`42${id}${JSON.stringify([event, payload])}`);
    return answered;
  }

  /** Emits an event with an ack id, without waiting for the answer. */
  fire(event: string, payload: unknown): void {
    this.send(`42${this.ackIds++}${JSON.stringify([event, payload])}`);
  }

  /** Sends one text frame as it is. */
  send(frame: string): void {
    this.ws.send(frame);
  }

  /**
   * Stops reading from the TCP socket: what the server writes piles up in the kernel's buffers,
   * then in the server's. The socket still sends.
   */
  stopReading(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.ws.terminate();
  }
}
