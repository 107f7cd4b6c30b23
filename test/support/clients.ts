import { io, type Socket } from "socket.io-client";
import type {
  AckOf,
  ClientEventName,
  ClientToServerEvents,
  ResultOf,
  ServerToClientEvents,
} from "../../protocol/index.js";
import { DEADLINE_MS, within } from "../../server/dev/deadline.js";
import { tokenFor } from "./tokens.js";

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

// Shared with the bench and the dev scripts; re-exported here, where the tests look for them.
export { DEADLINE_MS, within };

const open = new Set<TestSocket>();

let tokens = false;
/** Longest name a test puts in a token's `sub`. */
const MAX_SUB_IN_TOKEN = 1024;
/**
 * From now on, in this test file, clients prove their user with a token (token mode) instead of
 * a name: an `auth` that names a user gets a token with that `sub` (its `key` is dropped). An
 * `auth` without a user is sent as it is, and is refused as it would be in open mode.
 */
export function useTokens(): void {
  tokens = true;
}
/** Whether this test file's clients use tokens (see `useTokens`). */
export const usingTokens = (): boolean => tokens;

/** The handshake `auth` for `user`: as given in open mode, with a token for the user in token mode. */
function handshakeAuth(auth: unknown): unknown {
  if (!tokens || typeof auth !== "object" || auth === null || !Object.hasOwn(auth, "user")) return auth;
  const { user } = auth as { user: unknown };
  // A token for a giant name would outgrow the packet size limit and be dropped, not refused:
  // such a name goes without a token, and is refused for that.
  if (typeof user === "string" && user.length > MAX_SUB_IN_TOKEN) return { user };
  // The server ignores `user` in token mode; it stays for tests that read it back.
  return { user, token: tokenFor(user) };
}

/** Opens a client socket (not yet awaited); `closeAllClients` closes it after the test. */
export function client(url: string, user: unknown, options: Parameters<typeof io>[1] = {}): TestSocket {
  const auth = Object.hasOwn(options, "auth") ? options.auth : { user };
  const socket: TestSocket = io(url, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    ...options,
    auth: handshakeAuth(auth) as Record<string, unknown>,
  });
  open.add(socket);
  return socket;
}

/** Opens a client socket and waits until it is connected. */
export async function connected(
  url: string,
  user: unknown,
  options: Parameters<typeof io>[1] = {},
): Promise<TestSocket> {
  const socket = client(url, user, options);
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    }),
    `${String(user)} to connect to ${url}`,
  );
  return socket;
}

export function closeAllClients(): void {
  for (const socket of open) socket.disconnect();
  open.clear();
}

/** A socket seen without the protocol's types, so that a test may send any payload. */
interface LooseSocket {
  timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };
  on(event: string, listener: (payload: unknown) => void): void;
  off(event: string, listener: (payload: unknown) => void): void;
}
const loose = (socket: TestSocket) => socket as unknown as LooseSocket;

/** Emits an event with any payload (tests send bad ones too) and waits for its ack. */
export function request<E extends ClientEventName>(socket: TestSocket, event: E, payload: unknown): Promise<AckOf<E>> {
  return within(
    loose(socket).timeout(DEADLINE_MS).emitWithAck(event, payload) as Promise<AckOf<E>>,
    `the ack of ${event}`,
  );
}

/** Like `request`, but fails the test unless the ack is ok. */
export async function ok<E extends ClientEventName>(
  socket: TestSocket,
  event: E,
  payload: unknown,
): Promise<{ ok: true } & ResultOf<E>> {
  const answer = await request(socket, event, payload);
  if (!answer.ok) throw new Error(`${event} failed: ${answer.error.code} ${answer.error.message}`);
  return answer;
}

/**
 * Resolves with the first `event` that satisfies `match`. Start waiting before the action that
 * causes the event.
 */
export function next<E extends keyof ServerToClientEvents>(
  socket: TestSocket,
  event: E,
  match: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean = () => true,
  ms = DEADLINE_MS,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  type Payload = Parameters<ServerToClientEvents[E]>[0];
  let listener: (payload: unknown) => void;
  const seen = new Promise<Payload>((resolve) => {
    listener = (payload) => {
      if (match(payload as Payload)) resolve(payload as Payload);
    };
    loose(socket).on(event, listener);
  });
  return within(seen, `${event} on ${(socket.auth as { user?: string }).user}`, ms).finally(() =>
    loose(socket).off(event, listener),
  );
}

/** Collects every `event` a socket receives, for asserting what did (and did not) arrive. */
export function record<E extends keyof ServerToClientEvents>(
  socket: TestSocket,
  event: E,
): Parameters<ServerToClientEvents[E]>[0][] {
  const seen: Parameters<ServerToClientEvents[E]>[0][] = [];
  loose(socket).on(event, (payload) => seen.push(payload as Parameters<ServerToClientEvents[E]>[0]));
  return seen;
}
