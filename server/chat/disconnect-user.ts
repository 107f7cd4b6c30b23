import type { ChatServer } from "./chat.js";
import { userChannel } from "./rooms.js";

/** The adapter's own disconnect: in cluster mode it answers a promise, settled once this node's are done. */
interface DisconnectingAdapter {
  disconnectSockets(options: { rooms: Set<string>; except: Set<string>; flags: object }, close: boolean): unknown;
}

/**
 * Disconnects every socket of `user`, on every node (`close`: their connections too, so that they
 * reconnect; without it their clients are told not to), and resolves once this node's are. In
 * cluster mode the adapter disconnects this node's sockets only after publishing the request to the
 * others (a round trip), which `io.in(…).disconnectSockets` does not wait for: a socket of the user
 * that joins in between would be disconnected too.
 */
export async function disconnectUser(io: ChatServer, user: string, close: boolean): Promise<void> {
  const adapter = io.of("/").adapter as unknown as DisconnectingAdapter;
  await adapter.disconnectSockets({ rooms: new Set([userChannel(user)]), except: new Set(), flags: {} }, close);
}
