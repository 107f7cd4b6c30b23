import { io, type Socket } from "socket.io-client";
import { within } from "../../server/dev/deadline.js";

/**
 * Connects `count` sockets (users `user-<k>`) round the nodes at `urls`, each joined to
 * `room-<k mod rooms>`, one after another, and pushes each onto `into` as it connects, so that
 * the caller can disconnect them all even when a later one fails.
 */
export async function connectMembers(
  urls: readonly string[],
  count: number,
  rooms: number,
  into: Socket[],
): Promise<void> {
  for (let k = 0; k < count; k += 1) {
    const socket = io(urls[k % urls.length]!, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      auth: { user: `user-${k}` },
    });
    into.push(socket);
    await within(
      new Promise<void>((resolve, reject) => socket.once("connect", () => resolve()).once("connect_error", reject)),
      "a connection",
    );
    const joined = (await within(
      socket.timeout(10_000).emitWithAck("room:join", { room: `room-${k % rooms}` }),
      "a join",
    )) as {
      ok: boolean;
    };
    if (!joined.ok) throw new Error(`room:join failed: ${JSON.stringify(joined)}`);
  }
}
