import { randomUUID } from "node:crypto";
import type { ChatMessage } from "../../protocol/index.js";
import { connected, next, ok, type TestSocket } from "./clients.js";
import { unique } from "./identity.js";

/**
 * Two well-behaved users on two nodes, chatting in a room of their own while a test attacks the
 * nodes. `probe` measures what the attack costs them: the ack latency of one message, which the
 * other user must also receive.
 */
export class Bystanders {
  private constructor(
    private readonly room: string,
    private readonly sender: TestSocket,
    private readonly receiver: TestSocket,
  ) {}

  /** Connects one bystander to `urls[0]` and the other to the last URL, both in one room. */
  static async start(urls: string[]): Promise<Bystanders> {
    const room = unique("calm");
    const sender = await connected(urls[0]!, unique("ann"));
    const receiver = await connected(urls[urls.length - 1]!, unique("ben"));
    await ok(sender, "room:join", { room });
    await ok(receiver, "room:join", { room });
    return new Bystanders(room, sender, receiver);
  }

  /** Sends one message; resolves with its ack latency in ms once the other bystander has it. */
  async probe(): Promise<number> {
    const text = randomUUID();
    const received = next(this.receiver, "room:message", (message: ChatMessage) => message.text === text);
    const started = performance.now();
    await ok(this.sender, "room:send", { room: this.room, text });
    const latency = performance.now() - started;
    await received;
    return latency;
  }
}
