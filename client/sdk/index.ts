/**
 * roomcast-client, the roomcast client SDK for Node.js and the browser: re-exports only. This is
 * the package's entry point; the protocol's types and helpers come with it.
 *
 * @example
 * import { ChatClient } from "roomcast-client";
 * const client = new ChatClient({ urls: "http://localhost:3000", user: "alice" });
 *
 * @packageDocumentation
 */
export { ChatClient } from "./chat-client.js";
export type {
  ChatClientEvents,
  ChatClientOptions,
  ConnectionState,
  HistoryOptions,
  SendOptions,
} from "./chat-client.js";
export { ChatError, ClientErrorCode, isRetryable } from "./errors.js";
export type { ChatErrorCode } from "./errors.js";
export { DEFAULT_BACKOFF } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { parseUrls } from "./endpoints.js";
export type { OutboxRequest, PendingEntry } from "./outbox.js";
export type { Listener } from "./emitter.js";
export type { TokenSource } from "./credentials.js";
export type { ChatSocket, SocketFactory, SocketIoOptions } from "./transport.js";
export { ErrorCode, LIMITS, RETRYABLE_ERROR_CODES, checkName } from "../../protocol/index.js";
export type {
  ChatMessage,
  DirectMessage,
  DirectSendResult,
  DirectSyncResult,
  JoinResult,
  MessageDeleted,
  NameCheck,
  Notice,
  RoomPresence,
  RoomSummary,
  RoomTyping,
} from "../../protocol/index.js";
