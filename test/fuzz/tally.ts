/** What the lanes count as they go, and the frames the server mishandled. */
import type { Frame } from "./frames.js";
import type { Transport } from "./wire.js";

export type Counts = Record<string, number>;
export const bump = (counts: Counts, key: string, by = 1) => (counts[key] = (counts[key] ?? 0) + by);

/** A frame that the server mishandled, with what is needed to send it again. */
export interface Finding {
  frame: number;
  category: string;
  label: string;
  what: string;
  /** The first packet, cut to 300 characters. */
  packet: string;
}
const MAX_FINDINGS = 30;

/** What every lane adds up. */
export class Tally {
  frames = 0;
  readonly byTransport: Counts = {};
  readonly byCategory: Counts = {};
  readonly byTransportAndCategory: Record<Transport, Counts> = { websocket: {}, polling: {} };
  readonly acksByCode: Counts = {};
  readonly closesByCode: Counts = {};
  readonly connectErrorsByCode: Counts = {};
  unanswered = 0;
  connections = 0;
  connectFailures = 0;
  readonly findings: Finding[] = [];

  sent(frame: Frame, transport: Transport): void {
    this.frames += 1;
    bump(this.byTransport, transport);
    bump(this.byCategory, frame.category);
    bump(this.byTransportAndCategory[transport], frame.category);
  }

  found(frame: Frame | undefined, what: string): void {
    if (this.findings.length >= MAX_FINDINGS) return;
    const first = frame?.packets[0];
    const packet = first === undefined ? "" : first.kind === "text" ? first.data : first.data.toString("hex");
    this.findings.push({
      frame: frame?.index ?? -1,
      category: frame?.category ?? "",
      label: frame?.label ?? "",
      what,
      packet: packet.slice(0, 300),
    });
  }
}
