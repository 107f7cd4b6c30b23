import { randomBytes } from "node:crypto";
import type { ErrorBody } from "../../protocol/index.js";
import { client, within, type TestSocket } from "./clients.js";

const RUN = randomBytes(3).toString("hex");
let counter = 0;
/** A fresh name starting with `base`, unique in this run and across runs. */
export const unique = (base: string): string => `${base}-${RUN}-${++counter}`;

/** A fresh claim key (LIMITS.claimKey: 16 to 256 characters). */
export const newKey = (): string => randomBytes(24).toString("base64url");

/** Opens a socket with `auth` that must be refused; resolves with its connect_error's data. */
export function refusal(url: string, auth: Record<string, unknown>): Promise<ErrorBody | undefined> {
  const socket = client(url, undefined, { auth });
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => reject(new Error(`${JSON.stringify(auth)} connected but should be refused`)));
      socket.once("connect_error", (error: Error & { data?: ErrorBody }) => resolve(error.data));
    }),
    `the connect_error of ${JSON.stringify(auth)}`,
  );
}

/** Disconnects `socket` from the client side and waits until it knows. */
export async function leave(socket: TestSocket): Promise<void> {
  const closed = within(new Promise((resolve) => socket.once("disconnect", resolve)), "the disconnect");
  socket.disconnect();
  await closed;
}
