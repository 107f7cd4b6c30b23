/**
 * Lanes: each sends frames over one connection at a time, one frame at a time, and opens the next
 * connection when the server closed the last one.
 */
import { within } from "../../server/dev/deadline.js";
import { MAX_PACKET_BYTES, type Frame, type FrameSource, type Random, type WirePacket } from "./frames.js";
import { FuzzSession, type ConnectOutcome } from "./session.js";
import { bump, type Tally } from "./tally.js";
import { wireBytes, type Transport } from "./wire.js";

/** Longest a frame may go without its ack or a close: a hang is a finding, not a stall. */
const FRAME_DEADLINE_MS = 30_000;
/** Ids of the harness's own requests: even, and far above the frames'. */
let ownIds = 2_000_000_000_000;
const ownId = () => (ownIds += 2);

/** `42<id>["typing",null]`: answered bad_request at once, without touching a store. */
const probe = (id: number): WirePacket => ({ kind: "text", data: `42${id}["typing",null]` });

interface LaneOptions {
  url: string;
  transport: Transport;
  user: string;
  source: FrameSource;
  budget: { left: number };
  tally: Tally;
  random: Random;
}

/**
 * Joins namespace "/": with the held handshake frame in place of the CONNECT packet when there is
 * one, then, when that did not connect, as the lane's user. Resolves false when the connection
 * did not get there (closed by the server, or by us after a hang, which is a finding).
 */
async function joinNamespace(session: FuzzSession, lane: LaneOptions, frame: Frame | undefined): Promise<boolean> {
  const attempt = async (packets: readonly WirePacket[]): Promise<ConnectOutcome | "closed" | "refused" | "hung"> => {
    const result = session.connectResult();
    // A body refused whole (413) was never read: no connect result will come.
    const refused = session.link.send(packets).then((refusal) => {
      if (refusal === undefined) return new Promise<never>(() => undefined);
      bump(lane.tally.closesByCode, refusal);
      return "refused" as const;
    });
    return within(
      Promise.race([result, refused, session.link.ended.then(() => "closed" as const)]),
      "a handshake",
      FRAME_DEADLINE_MS,
    ).catch(() => "hung" as const);
  };
  if (frame !== undefined) {
    lane.tally.sent(frame, lane.transport);
    session.current = frame;
    const outcome = await attempt(frame.packets);
    if (outcome === "hung") {
      lane.tally.unanswered += 1;
      lane.tally.found(frame, "no connect result and no close within 30 s");
      void session.link.close();
    }
    if (outcome === "closed" || outcome === "hung") return false;
    if (outcome !== "refused" && outcome.connected) return true;
  }
  session.current = undefined;
  const outcome = await attempt([{ kind: "text", data: `40{"user":"${lane.user}"}` }]);
  if (outcome === "closed") return false;
  if (typeof outcome === "string" || !outcome.connected) {
    lane.tally.found(
      undefined,
      `${lane.user} could not connect: ${typeof outcome === "string" ? outcome : outcome.code}`,
    );
    void session.link.close();
    return false;
  }
  return true;
}

/** Sends one frame and a probe behind it; waits for the frame's ack and the probe's, or a close. */
async function sendFrame(session: FuzzSession, lane: LaneOptions, frame: Frame): Promise<void> {
  lane.tally.sent(frame, lane.transport);
  session.current = frame;
  const probeId = 2 * frame.index + 2;
  const frameAck = frame.expectAck === undefined ? undefined : session.ack(frame.expectAck);
  const probeAck = session.ack(probeId);
  // The probe rides in the frame's polling body when both fit under the limit, else right behind it.
  const together = [...frame.packets, probe(probeId)];
  const fits = frame.packets.reduce((bytes, packet) => bytes + wireBytes(packet) + 1, 40) <= MAX_PACKET_BYTES;
  const refused = session.link.send(fits ? together : frame.packets);
  if (!fits) void session.link.send([probe(probeId)]);
  // A refused body (413) was never read, so only the probe can answer.
  const answered = refused.then(async (refusal) => {
    if (refusal !== undefined) bump(lane.tally.closesByCode, refusal);
    await Promise.all([refusal === undefined ? frameAck : undefined, probeAck]);
  });
  try {
    await within(Promise.race([answered, session.link.ended]), `frame ${frame.index}`, FRAME_DEADLINE_MS);
  } catch (error) {
    lane.tally.unanswered += 1;
    lane.tally.found(frame, (error as Error).message);
    void session.link.close();
  } finally {
    session.forget(probeId, ...(frame.expectAck === undefined ? [] : [frame.expectAck]));
  }
}

/** A quarter of the connections join a fuzz room first, so that sends with odd but valid text reach the store. */
async function maybeJoinRoom(session: FuzzSession, lane: LaneOptions): Promise<void> {
  if (!lane.random.chance(0.25)) return;
  const id = ownId();
  const joined = session.ack(id);
  void session.link.send([{ kind: "text", data: `42${id}["room:join",{"room":"fuzz-${lane.random.int(4)}"}]` }]);
  await within(Promise.race([joined, session.link.ended]), "a fuzz room join", FRAME_DEADLINE_MS);
}

/** Consecutive failed connections after which a lane gives up (its node is gone). */
const MAX_CONNECT_FAILURES = 20;

/** Sends frames over one connection after another, until the campaign's budget is spent. */
export async function runLane(lane: LaneOptions): Promise<void> {
  let heldHandshake: Frame | undefined;
  let failures = 0;
  while (lane.budget.left > 0 || heldHandshake !== undefined) {
    let session: FuzzSession;
    try {
      session = await FuzzSession.open(lane.transport, lane.url, lane.tally);
    } catch {
      lane.tally.connectFailures += 1;
      failures += 1;
      if (failures >= MAX_CONNECT_FAILURES) return;
      continue;
    }
    failures = 0;
    lane.tally.connections += 1;
    const handshake = heldHandshake;
    heldHandshake = undefined;
    if (await joinNamespace(session, lane, handshake)) {
      await maybeJoinRoom(session, lane);
      while (session.link.endReason === undefined && lane.budget.left > 0) {
        lane.budget.left -= 1;
        const frame = lane.source.next();
        // A handshake frame waits for the lane's next connection, where it replaces the CONNECT.
        if (frame.handshake) {
          heldHandshake = frame;
          break;
        }
        await sendFrame(session, lane, frame);
      }
    }
    const reason = session.link.endReason;
    if (reason !== undefined && reason !== "client") bump(lane.tally.closesByCode, reason);
    // A WebSocket close handshake times out after 30 s at worst.
    else await within(session.link.close(), "our close to reach the server", 35_000);
  }
}
