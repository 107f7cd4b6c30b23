/**
 * The roomcast client SDK, for Node and the browser: re-exports only.
 *
 * @example
 * import { ChatClient } from "./client/sdk/index.js";
 * const client = new ChatClient({ urls: "http://localhost:3000", user: "alice" });
 */
export { ChatClient } from "./chat-client.js";
export type { ChatClientEvents, ChatClientOptions, ConnectionState, HistoryOptions } from "./chat-client.js";
export { ChatError, ClientErrorCode, isRetryable } from "./errors.js";
export type { ChatErrorCode } from "./errors.js";
export { DEFAULT_BACKOFF } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { parseUrls } from "./endpoints.js";
export type { OutboxRequest, PendingEntry } from "./outbox.js";
export type { Listener } from "./emitter.js";
export type { ChatSocket, SocketFactory, SocketIoOptions } from "./transport.js";
export { ErrorCode, LIMITS, RETRYABLE_ERROR_CODES } from "../../protocol/index.js";
export type {
  ChatMessage,
  DirectMessage,
  DirectSendResult,
  JoinResult,
  Notice,
  RoomPresence,
  RoomSummary,
  RoomTyping,
} from "../../protocol/index.js";
