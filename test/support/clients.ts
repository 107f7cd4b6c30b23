import { io, type Socket } from "socket.io-client";
import type { Ack, ClientToServerEvents, ServerToClientEvents } from "../../protocol/index.js";
import { DEADLINE_MS, within } from "../../server/dev/deadline.js";

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

// Shared with the bench and the dev scripts; re-exported here, where the tests look for them.
export { DEADLINE_MS, within };

const open = new Set<TestSocket>();

/** Opens a client socket (not yet awaited); `closeAllClients` closes it after the test. */
export function client(url: string, user: unknown, options: Parameters<typeof io>[1] = {}): TestSocket {
  const socket: TestSocket = io(url, {
    auth: { user },
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    ...options,
  });
  open.add(socket);
  return socket;
}

/** Opens a client socket and waits until it is connected. */
export async function connected(url: string, user: unknown, options: Parameters<typeof io>[1] = {}): Promise<TestSocket> {
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

/** Emits an event and waits for its ack. */
export function request<E extends keyof ClientToServerEvents>(
  socket: TestSocket,
  event: E,
  payload: unknown,
): Promise<Ack<Record<string, any>>> {
  return within(
    (socket.timeout(DEADLINE_MS) as any).emitWithAck(event, payload) as Promise<Ack<Record<string, any>>>,
    `the ack of ${event}`,
  );
}

/** Like `request`, but fails the test unless the ack is ok. */
export async function ok<E extends keyof ClientToServerEvents>(
  socket: TestSocket,
  event: E,
  payload: unknown,
): Promise<Record<string, any>> {
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
  let listener: (payload: any) => void;
  const seen = new Promise<Parameters<ServerToClientEvents[E]>[0]>((resolve) => {
    listener = (payload) => {
      if (match(payload)) resolve(payload);
    };
    socket.on(event, listener as any);
  });
  return within(seen, `${event} on ${(socket.auth as { user?: string }).user}`, ms).finally(() =>
    socket.off(event, listener as any),
  );
}

/** Collects every `event` a socket receives, for asserting what did (and did not) arrive. */
export function record<E extends keyof ServerToClientEvents>(
  socket: TestSocket,
  event: E,
): Parameters<ServerToClientEvents[E]>[0][] {
  const seen: Parameters<ServerToClientEvents[E]>[0][] = [];
  socket.on(event, ((payload: any) => seen.push(payload)) as any);
  return seen;
}
