/**
 * Raw Engine.IO connections over both transports, written by hand so that they can put on the
 * wire what no real client would: a WebSocket from `ws`, and long-polling from plain HTTP requests.
 */
import { Agent, request } from "node:http";
import WebSocket from "ws";
import { within } from "../../server/dev/deadline.js";
import type { WirePacket } from "./frames.js";

export type Transport = "websocket" | "polling";
export const TRANSPORTS: readonly Transport[] = ["websocket", "polling"];

const RECORD_SEPARATOR = "\x1e";
const httpAgent = new Agent({ keepAlive: true, maxSockets: Infinity });

/** Closes the kept-alive HTTP connections, once every polling session has ended. */
export function dropIdleHttpConnections(): void {
  httpAgent.destroy();
}

/** One Engine.IO connection, driven packet by packet. */
export interface Link {
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
export function openLink(transport: Transport, url: string, onMessage: (packet: string) => void): Promise<Link> {
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

/** Bytes of a packet in a polling body (binary ones as base64, a third larger). */
export const wireBytes = (packet: WirePacket) =>
  packet.kind === "text"
    ? Buffer.byteLength(packet.data)
    : packet.kind === "binary"
      ? 1 + Math.ceil(packet.data.length / 3) * 4
      : packet.data.length;
