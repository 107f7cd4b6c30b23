/**
 * A fuzz session: just enough Socket.IO on a raw connection to match acks and handshake results
 * to the frames that caused them.
 */
import type { Frame } from "./frames.js";
import { bump, type Tally } from "./tally.js";
import { openLink, type Link, type Transport } from "./wire.js";

/** How an ack reads: "ok", its error code, or what is wrong with it. */
function ackCode(json: string): string {
  try {
    const [answer] = JSON.parse(json) as unknown[];
    if (typeof answer !== "object" || answer === null) return "not an ack object";
    const { ok, error } = answer as { ok?: unknown; error?: { code?: unknown } };
    if (ok === true) return "ok";
    return typeof error?.code === "string" ? error.code : "no error code";
  } catch {
    return "unparsable";
  }
}

/** `4<nsp,>{...}`: the connect error's code, or its message. */
function connectErrorCode(packet: string): { namespace: string; code: string } {
  const nsp = packet[1] === "/" ? packet.slice(1, packet.indexOf(",")) : "/";
  const json = nsp === "/" ? packet.slice(1) : packet.slice(packet.indexOf(",") + 1);
  try {
    const body = JSON.parse(json) as { message?: string; data?: { code?: string } };
    return { namespace: nsp, code: body.data?.code ?? body.message ?? "no code" };
  } catch {
    return { namespace: nsp, code: "unparsable" };
  }
}

/** Socket.IO's handshake result on namespace "/". */
export type ConnectOutcome = { connected: true } | { connected: false; code: string };

/**
 * A raw connection speaking just enough Socket.IO to fuzz: it tracks acks by id, connect
 * results, and counts every ack of a fuzz frame (odd ids, and the ids it cannot read back).
 */
export class FuzzSession {
  private readonly waiting = new Map<number, (code: string) => void>();
  private connectWaiter: ((outcome: ConnectOutcome) => void) | undefined;
  /** The frame on the wire, to name in findings. */
  current: Frame | undefined;
  link!: Link;

  private constructor(private readonly tally: Tally) {}

  static async open(transport: Transport, url: string, tally: Tally): Promise<FuzzSession> {
    const session = new FuzzSession(tally);
    session.link = await openLink(transport, url, (packet) => session.onPacket(packet));
    return session;
  }

  /** Resolves with the code of the ack `id`. */
  ack(id: number): Promise<string> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  forget(...ids: number[]): void {
    for (const id of ids) this.waiting.delete(id);
  }

  /** Resolves with the result of the next handshake on "/". */
  connectResult(): Promise<ConnectOutcome> {
    return new Promise((resolve) => (this.connectWaiter = resolve));
  }

  private onPacket(packet: string): void {
    if (packet[0] === "0" && (packet[1] === "{" || packet.length === 1)) {
      this.connectWaiter?.({ connected: true });
    } else if (packet[0] === "4") {
      const { namespace, code } = connectErrorCode(packet);
      bump(this.tally.connectErrorsByCode, code);
      if (code === "internal") this.tally.found(this.current, "connect error: internal");
      if (namespace === "/") this.connectWaiter?.({ connected: false, code });
    } else if (packet[0] === "3") {
      this.onAck(packet.slice(1));
    }
  }

  private onAck(rest: string): void {
    const body = rest[0] === "/" ? rest.slice(rest.indexOf(",") + 1) : rest;
    const bracket = body.indexOf("[");
    const id = Number(body.slice(0, bracket));
    const code = ackCode(body.slice(bracket));
    // Even ids are the harness's own requests; the rest answer fuzz frames, some under an id the
    // server could not write back as digits (1.2345678901234568e+29).
    if (!Number.isSafeInteger(id) || id % 2 === 1) {
      bump(this.tally.acksByCode, code);
      if (code === "internal") this.tally.found(this.current, "ack: internal");
    }
    const waiter = this.waiting.get(id);
    this.waiting.delete(id);
    waiter?.(code);
  }
}
