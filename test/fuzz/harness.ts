/**
 * The fuzz campaign (issue 11): many concurrent raw connections send malformed frames to the
 * nodes over WebSocket and HTTP long-polling, while a well-behaved pair of clients on two nodes
 * keeps chatting. The report counts what the server answered, how it closed connections, whether
 * a node died, and whether the pair lost a message.
 *
 * Sections: the nodes under test (RSS, health, registry); raw Engine.IO connections over both
 * transports; a fuzz session (Socket.IO on such a connection); the lanes that send the frames;
 * the well-behaved pair; the campaign and its report.
 */
import { Agent, request } from "node:http";
import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";
import type { ClientToServerEvents, ServerToClientEvents } from "../../protocol/index.js";
import { within } from "../../server/dev/deadline.js";
import { TEST_ADMIN_TOKEN } from "../support/deployment.js";
import { startProcessCluster, type NodeProcess, type ProcessCluster } from "../support/processes.js";
import {
  CATEGORIES,
  MAX_PACKET_BYTES,
  frameSource,
  seededRandom,
  type Frame,
  type FrameSource,
  type Random,
  type WirePacket,
} from "./frames.js";

// ---- The nodes under test ----

/**
 * Settings for the fuzzed nodes: every per-address and per-user limit off, since the fuzzer
 * opens thousands of connections from one loopback address as a few users, and `rate_limited`
 * would hide the handlers behind it.
 */
export const FUZZ_ENV: Record<string, string> = {
  SOCKETS_PER_IP: "0",
  HANDSHAKES_PER_IP_PER_MINUTE: "0",
  SOCKETS_PER_USER: "0",
  RATE_LIMIT_PER_SECOND: "0",
  JOINS_PER_MINUTE: "0",
  HISTORY_PER_MINUTE: "0",
  ROOMS_LIST_PER_MINUTE: "0",
  TYPING_PER_SECOND: "0",
};

/** Starts Redis and two node processes from dist/ (`npm run build` first) with the fuzz settings. */
export function startFuzzCluster(nodes = 2): Promise<ProcessCluster> {
  return startProcessCluster({ nodes, env: FUZZ_ENV });
}

/** A node's resident set in KiB; undefined once the process is gone. */
const rssKiB = (node: NodeProcess): Promise<number | undefined> =>
  node.rssBytes().then(
    (bytes) => Math.round(bytes / 1024),
    () => undefined,
  );

async function answers200(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(10_000) })).status === 200;
  } catch {
    return false;
  }
}

/** Sockets the cluster's registry counts on every node (GET /admin/nodes). */
async function registeredSockets(url: string): Promise<number> {
  const response = await fetch(`${url}/admin/nodes`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  const body = (await response.json()) as { nodes: { sockets: number }[] };
  return body.nodes.reduce((sum, node) => sum + node.sockets, 0);
}

// ---- Raw Engine.IO connections ----

export type Transport = "websocket" | "polling";
export const TRANSPORTS: readonly Transport[] = ["websocket", "polling"];

const RECORD_SEPARATOR = "\x1e";
const httpAgent = new Agent({ keepAlive: true, maxSockets: Infinity });

/** One Engine.IO connection, driven packet by packet. */
interface Link {
  /**
   * Sends packets in order. Resolves with how the server refused them when it answered without
   * closing the connection (a polling body over the limit: "polling:http-413").
   */
  send(packets: readonly WirePacket[]): Promise<string | undefined>;
  /** Resolves, once, with how the connection ended: "websocket:1009", "polling:close-packet", ... */
  readonly ended: Promise<string>;
  /** Why it ended; undefined while it is open. */
  readonly endReason: string | undefined;
  /**
   * Closes it from our side (the end then reads "client"); resolves once the server was told, so
   * that it unregisters the socket now rather than at its ping timeout.
   */
  close(): Promise<void>;
}

/** Resolves `ended` once. */
function endSignal() {
  let reason: string | undefined;
  let resolve!: (reason: string) => void;
  const ended = new Promise<string>((done) => (resolve = done));
  return {
    ended,
    get reason() {
      return reason;
    },
    end(why: string) {
      if (reason !== undefined) return;
      reason = why;
      resolve(why);
    },
  };
}

/**
 * Opens a connection and resolves once the server's open packet arrived. `onMessage` gets the
 * Socket.IO packet of every message packet; pings are answered here.
 */
function openLink(transport: Transport, url: string, onMessage: (packet: string) => void): Promise<Link> {
  return transport === "websocket" ? openWebSocket(url, onMessage) : openPolling(url, onMessage);
}

async function openWebSocket(url: string, onMessage: (packet: string) => void): Promise<Link> {
  const socket = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`, {
    perMessageDeflate: false,
  });
  const end = endSignal();
  // The close event that follows an error says how the connection ended.
  socket.on("error", () => undefined);
  socket.once("close", (code) => end.end(`websocket:${code}`));
  let opened!: () => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  socket.on("message", (data: Buffer, isBinary) => {
    if (isBinary) return;
    const packet = data.toString();
    if (packet[0] === "0") opened();
    else if (packet[0] === "2") socket.send("3");
    else if (packet[0] === "4") onMessage(packet.slice(1));
  });
  const outcome = await within(
    Promise.race([open.then(() => undefined), end.ended]),
    "the WebSocket open packet",
    30_000,
  ).catch((error: Error) => error.message);
  if (outcome !== undefined) {
    socket.terminate();
    throw new Error(`WebSocket connection failed: ${outcome}`);
  }
  let closing: Promise<void> | undefined;
  return {
    async send(packets) {
      for (const packet of packets) {
        if (socket.readyState !== WebSocket.OPEN) break;
        socket.send(packet.data, { binary: packet.kind === "binary" });
      }
      return undefined;
    },
    ended: end.ended,
    get endReason() {
      return end.reason;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once("close", () => resolve());
        end.end("client");
        socket.close();
      });
      return closing;
    },
  };
}

function http(method: "GET" | "POST", url: string, body?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = body ? { "content-type": "text/plain;charset=UTF-8", "content-length": body.length } : {};
    const req = request(url, { method, agent: httpAgent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      response.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A polling body: packets joined by the record separator, binary ones as "b<base64>". */
function pollingBody(packets: readonly WirePacket[]): Buffer {
  const parts: Buffer[] = [];
  packets.forEach((packet, index) => {
    if (index > 0) parts.push(Buffer.from(RECORD_SEPARATOR));
    if (packet.kind === "text") parts.push(Buffer.from(packet.data));
    else if (packet.kind === "binary") parts.push(Buffer.from(`b${packet.data.toString("base64")}`));
    else parts.push(packet.data);
  });
  return Buffer.concat(parts);
}

async function openPolling(url: string, onMessage: (packet: string) => void): Promise<Link> {
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  const handshake = await http("GET", base);
  const [open, ...rest] = handshake.body.split(RECORD_SEPARATOR);
  if (handshake.status !== 200 || open?.[0] !== "0") {
    throw new Error(`polling handshake answered ${handshake.status}: ${handshake.body.slice(0, 100)}`);
  }
  const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
  const session = `${base}&sid=${encodeURIComponent(sid)}`;
  const end = endSignal();
  // POSTs go one at a time: a second one in flight would be an overlap, which closes the session.
  let posts = Promise.resolve<unknown>(undefined);
  const post = (body: Buffer): Promise<string | undefined> => {
    const sent = posts.then(async () => {
      if (end.reason !== undefined) return undefined;
      try {
        const response = await http("POST", session, body);
        if (response.status === 200) return undefined;
        // 400: the session is gone (closed, or an unknown sid); 413 leaves it open.
        if (response.status === 400) end.end("polling:http-400");
        return `polling:http-${response.status}`;
      } catch {
        // The server may cut a body over the limit short, with or without its 413.
        return "polling:reset";
      }
    });
    posts = sent;
    return sent;
  };
  const handle = (packet: string) => {
    if (packet[0] === "1") end.end("polling:close-packet");
    else if (packet[0] === "2") void post(Buffer.from("3"));
    else if (packet[0] === "4") onMessage(packet.slice(1));
  };
  rest.forEach(handle);
  const poll = async () => {
    while (end.reason === undefined) {
      let response;
      try {
        response = await http("GET", session);
      } catch {
        end.end("polling:reset");
        // The session may well be alive: tell the server, or it would wait for its ping timeout.
        posts = posts.then(() => http("POST", session, Buffer.from("1")).catch(() => undefined));
        return;
      }
      if (response.status !== 200) return end.end(`polling:http-${response.status}`);
      response.body.split(RECORD_SEPARATOR).forEach(handle);
    }
  };
  void poll();
  let closing: Promise<void> | undefined;
  return {
    send: (packets) => post(pollingBody(packets)),
    ended: end.ended,
    get endReason() {
      return end.reason;
    },
    close() {
      if (closing === undefined) {
        const open = end.reason === undefined;
        end.end("client");
        // Past the queue's check of `end`: the close packet must still go out.
        if (open) posts = posts.then(() => http("POST", session, Buffer.from("1")).catch(() => undefined));
        closing = posts.then(() => undefined);
      }
      return closing;
    },
  };
}

// ---- A fuzz session: Socket.IO over a raw connection ----

type Counts = Record<string, number>;
const bump = (counts: Counts, key: string, by = 1) => (counts[key] = (counts[key] ?? 0) + by);

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
class Tally {
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
type ConnectOutcome = { connected: true } | { connected: false; code: string };

/**
 * A raw connection speaking just enough Socket.IO to fuzz: it tracks acks by id, connect
 * results, and counts every ack of a fuzz frame (odd ids, and the ids it cannot read back).
 */
class FuzzSession {
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

// ---- Lanes: one connection at a time, one frame at a time ----

/** Longest a frame may go without its ack or a close: a hang is a finding, not a stall. */
const FRAME_DEADLINE_MS = 30_000;
/** Ids of the harness's own requests: even, and far above the frames'. */
let ownIds = 2_000_000_000_000;
const ownId = () => (ownIds += 2);

/** Bytes of a packet in a polling body (binary ones as base64, a third larger). */
const wireBytes = (packet: WirePacket) =>
  packet.kind === "text"
    ? Buffer.byteLength(packet.data)
    : packet.kind === "binary"
      ? 1 + Math.ceil(packet.data.length / 3) * 4
      : packet.data.length;

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
async function runLane(lane: LaneOptions): Promise<void> {
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

// ---- The well-behaved pair ----

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Time between two messages of the pair (each member sends every other one). */
const PAIR_INTERVAL_MS = 50;

interface Member {
  user: string;
  socket: ChatSocket;
  /** Ids of this member's messages that the server acknowledged. */
  acked: string[];
  /** Ids of the peer's messages, as they arrived. */
  received: string[];
  disconnects: string[];
}

export interface PairReport {
  /** Messages the server acknowledged, both members together. */
  messages: number;
  /** Acknowledged by the server, never received by the peer. */
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** Sends that got no ok ack (an error code, or no ack in time). */
  sendFailures: number;
  disconnects: number;
}

/**
 * Two users on different nodes (one over WebSocket, one over polling) in one room, sending in
 * turn at a steady pace, each message with a clientId.
 */
class WellBehavedPair {
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<void>>();
  private sendFailures = 0;
  private sent = 0;

  private constructor(
    private readonly room: string,
    private readonly members: [Member, Member],
  ) {}

  static async start(urls: readonly string[], seed: number): Promise<WellBehavedPair> {
    const room = `pair-${seed}`;
    const connect = async (user: string, url: string, transport: Transport): Promise<Member> => {
      const socket: ChatSocket = io(url, {
        auth: { user },
        transports: [transport],
        reconnection: false,
        forceNew: true,
      });
      const member: Member = { user, socket, acked: [], received: [], disconnects: [] };
      await within(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("connect_error", reject);
        }),
        `${user} to connect`,
      );
      socket.on("disconnect", (reason) => member.disconnects.push(reason));
      const joined = await within(socket.timeout(10_000).emitWithAck("room:join", { room }), `${user} to join`);
      if (!joined.ok) throw new Error(`${user} could not join ${room}: ${joined.error.code}`);
      return member;
    };
    const a = await connect(`pair-a-${seed}`, urls[0]!, "websocket");
    const b = await connect(`pair-b-${seed}`, urls[1 % urls.length]!, "polling");
    for (const [member, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      member.socket.on("room:message", (message) => {
        if (message.room === room && message.from === peer.user) member.received.push(message.id);
      });
    }
    const pair = new WellBehavedPair(room, [a, b]);
    pair.timer = setInterval(() => pair.sendNext(), PAIR_INTERVAL_MS);
    return pair;
  }

  private sendNext(): void {
    const member = this.members[this.sent % 2]!;
    const n = (this.sent += 1);
    const request = { room: this.room, text: `message ${n}`, clientId: `${member.user}-${n}` };
    const sending = member.socket
      .timeout(30_000)
      .emitWithAck("room:send", request)
      .then(
        (answer) => (answer.ok ? void member.acked.push(answer.message.id) : void (this.sendFailures += 1)),
        () => void (this.sendFailures += 1),
      )
      .finally(() => this.sending.delete(sending));
    this.sending.add(sending);
  }

  /** Stops sending, waits until each member got every acknowledged message of the other, and checks. */
  async stop(): Promise<PairReport> {
    clearInterval(this.timer);
    await Promise.all([...this.sending]);
    const [a, b] = this.members;
    const complete = () =>
      [
        [a, b],
        [b, a],
      ].every(([member, peer]) => {
        const received = new Set(member!.received);
        return peer!.acked.every((id) => received.has(id));
      });
    await within(
      new Promise<void>((resolve) => {
        const check = () => {
          if (!complete()) return;
          for (const member of this.members) member.socket.off("room:message", check);
          resolve();
        };
        for (const member of this.members) member.socket.on("room:message", check);
        check();
      }),
      "the pair to receive every acknowledged message",
      15_000,
    ).catch(() => undefined);
    let lost = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    for (const [member, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const received = new Set(member.received);
      lost += peer.acked.filter((id) => !received.has(id)).length;
      duplicates += member.received.length - received.size;
      outOfOrder += member.received.filter((id, k) => k > 0 && id <= member.received[k - 1]!).length;
    }
    return {
      messages: a.acked.length + b.acked.length,
      lost,
      duplicates,
      outOfOrder,
      sendFailures: this.sendFailures,
      disconnects: a.disconnects.length + b.disconnects.length,
    };
  }

  close(): void {
    for (const member of this.members) member.socket.disconnect();
  }
}

// ---- The campaign ----

export interface FuzzOptions {
  /** The node processes to fuzz (from `startFuzzCluster`); the pair uses the first two. */
  nodes: readonly NodeProcess[];
  /** Malformed frames to send in all. */
  frames: number;
  seed: number;
  /** Concurrent fuzz connections. @default 32 */
  lanes?: number;
  /** Called every `progressEvery` frames with the frames sent so far. */
  onProgress?: (frames: number, seconds: number) => void;
  /** @default 10_000 */
  progressEvery?: number;
}

export interface FuzzReport {
  seed: number;
  frames: number;
  byTransport: Counts;
  byCategory: Counts;
  byTransportAndCategory: Record<Transport, Counts>;
  /** Acks of fuzz frames, by error code ("ok" for a success). */
  acksByCode: Counts;
  /**
   * How connections ended, or bodies were refused, after a frame: WebSocket close codes
   * ("websocket:1009"), polling statuses ("polling:http-413") and close packets.
   */
  closesByCode: Counts;
  /** Handshakes refused, by code (or by message for an unknown namespace). */
  connectErrorsByCode: Counts;
  /** Frames that got neither their ack nor a close within 30 s. */
  unanswered: number;
  /** Node processes that exited. */
  crashes: number;
  /** Every node answered /healthz and /readyz with 200 at the end. */
  healthy: boolean;
  lostMessages: number;
  pairMessages: number;
  pairDuplicates: number;
  pairOutOfOrder: number;
  pairSendFailures: number;
  pairDisconnects: number;
  /** Fuzz connections opened, and attempts that failed to open. */
  connections: number;
  connectFailures: number;
  /** Sockets still registered once every fuzz connection closed: the pair's 2 when none leaked. */
  socketsAfter: number;
  /** How long the registry took to come down to `socketsAfter` after the last frame. */
  secondsToSettle: number;
  /** The nodes' warnings and errors, by level, message and cause. */
  nodeLogs: Counts;
  /**
   * Resident set size of each node (not its heap: no endpoint exposes that), before the pair
   * connected, at its highest sample (every 1,000 frames), and after the fuzz connections closed.
   */
  rssBeforeKiB: number[];
  rssPeakKiB: number[];
  rssAfterKiB: number[];
  seconds: number;
  findings: Finding[];
}

const tenths = (value: number) => Math.round(value * 10) / 10;

/** Waits until the registry counts `expected` sockets; resolves with the last count (-1: no answer). */
async function settledSockets(url: string, expected: number): Promise<number> {
  const count = () => registeredSockets(url).catch(() => -1);
  let sockets = await count();
  // Polled: the registry announces nothing. A session we failed to close would end at its ping
  // timeout (45 s).
  const deadline = Date.now() + 50_000;
  while (sockets > expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    sockets = await count();
  }
  return sockets;
}

/** Each node's warnings and errors, counted by level, message, event, reason and error message. */
function warningsAndErrors(nodes: readonly NodeProcess[]): Counts {
  const counts: Counts = {};
  for (const line of nodes.flatMap((node) => node.logs)) {
    if (typeof line.level !== "number" || line.level < 40) continue;
    const { msg, event, reason, err } = line as Record<string, unknown> & { err?: { message?: unknown } };
    const level = line.level >= 50 ? "error" : "warn";
    bump(counts, [level, msg, event, reason, err?.message].filter((part) => part !== undefined).join(": "));
  }
  return counts;
}

/** Frames between two RSS samples. */
const RSS_SAMPLE_EVERY = 1_000;

/**
 * Runs a campaign: `frames` malformed frames over `lanes` concurrent connections, spread over
 * both transports and every node, while the well-behaved pair chats; then checks the pair, the
 * processes, their health, the registry and their memory.
 */
export async function runFuzzCampaign(options: FuzzOptions): Promise<FuzzReport> {
  const { nodes, seed } = options;
  const urls = nodes.map((node) => node.url);
  const startedAt = Date.now();
  const rssBefore = await Promise.all(nodes.map(rssKiB));
  const rssPeak = rssBefore.map((kib) => kib ?? 0);
  const sampleRss = async () =>
    (await Promise.all(nodes.map(rssKiB))).forEach((kib, k) => (rssPeak[k] = Math.max(rssPeak[k]!, kib ?? 0)));
  const pair = await WellBehavedPair.start(urls, seed);
  const tally = new Tally();
  const source = frameSource(seed);
  const budget = { left: options.frames };
  const progressEvery = options.progressEvery ?? 10_000;
  const counted: FrameSource = {
    next() {
      const frame = source.next();
      const sent = frame.index + 1;
      if (sent % RSS_SAMPLE_EVERY === 0) void sampleRss();
      if (sent % progressEvery === 0) options.onProgress?.(sent, (Date.now() - startedAt) / 1000);
      return frame;
    },
  };
  const lanes = options.lanes ?? 32;
  await Promise.all(
    Array.from({ length: lanes }, (_, k) =>
      runLane({
        // Lanes alternate transports, and take the nodes in turn within each transport.
        transport: TRANSPORTS[k % 2]!,
        url: urls[Math.floor(k / 2) % urls.length]!,
        user: `fz-${k}`,
        source: counted,
        budget,
        tally,
        random: seededRandom(seed + 1 + k),
      }),
    ),
  );
  const pairReport = await pair.stop();
  // Every lane closed its last connection, and the server answered the long polls on closing.
  httpAgent.destroy();
  const settleStart = Date.now();
  const socketsAfter = await settledSockets(urls[0]!, 2);
  const secondsToSettle = tenths((Date.now() - settleStart) / 1000);
  const rssAfter = await Promise.all(nodes.map(rssKiB));
  await sampleRss();
  pair.close();
  const health = await Promise.all(urls.flatMap((url) => [answers200(`${url}/healthz`), answers200(`${url}/readyz`)]));
  return {
    seed,
    frames: tally.frames,
    byTransport: tally.byTransport,
    byCategory: Object.fromEntries(CATEGORIES.map((category) => [category, tally.byCategory[category] ?? 0])),
    byTransportAndCategory: tally.byTransportAndCategory,
    acksByCode: tally.acksByCode,
    closesByCode: tally.closesByCode,
    connectErrorsByCode: tally.connectErrorsByCode,
    unanswered: tally.unanswered,
    crashes: nodes.filter((node) => !node.running).length,
    healthy: health.every(Boolean),
    lostMessages: pairReport.lost,
    pairMessages: pairReport.messages,
    pairDuplicates: pairReport.duplicates,
    pairOutOfOrder: pairReport.outOfOrder,
    pairSendFailures: pairReport.sendFailures,
    pairDisconnects: pairReport.disconnects,
    connections: tally.connections,
    connectFailures: tally.connectFailures,
    socketsAfter,
    secondsToSettle,
    nodeLogs: warningsAndErrors(nodes),
    rssBeforeKiB: rssBefore.map((kib) => kib ?? 0),
    rssPeakKiB: rssPeak,
    rssAfterKiB: rssAfter.map((kib) => kib ?? 0),
    seconds: tenths((Date.now() - startedAt) / 1000),
    findings: tally.findings,
  };
}

/** What makes a campaign fail, in words; empty when it passed. */
export function campaignFailures(report: FuzzReport): string[] {
  const problems: string[] = [];
  if (report.crashes > 0) problems.push(`${report.crashes} node(s) crashed`);
  if (!report.healthy) problems.push("a node does not answer /healthz and /readyz with 200");
  if (report.lostMessages > 0) problems.push(`the pair lost ${report.lostMessages} message(s)`);
  if (report.pairDuplicates + report.pairOutOfOrder > 0)
    problems.push("the pair got duplicates or messages out of order");
  if ((report.acksByCode.internal ?? 0) + (report.connectErrorsByCode.internal ?? 0) > 0) {
    problems.push("the server answered `internal`");
  }
  if (report.unanswered > 0) problems.push(`${report.unanswered} frame(s) got neither an ack nor a close`);
  return problems;
}
