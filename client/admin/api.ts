import { ErrorCode, type ErrorBody } from "../../protocol/index.js";
import type { AdminStats } from "../../server/routes/admin-stats.js";

export type { AdminStats };

/** Where the token lives: this tab's session storage, gone when the tab closes. */
const TOKEN_KEY = "roomcast-admin-token";

export const savedToken = (): string | undefined => sessionStorage.getItem(TOKEN_KEY) ?? undefined;
export const saveToken = (token: string): void => sessionStorage.setItem(TOKEN_KEY, token);
export const forgetToken = (): void => sessionStorage.removeItem(TOKEN_KEY);

/** An admin endpoint's refusal, with the error body it answered (or one made up for a network failure). */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
    this.name = "AdminError";
  }

  /** The token was refused (401): signing in again is the only way on. */
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/**
 * Calls an admin endpoint of the node that served this page with the token as a bearer header,
 * and resolves with its JSON, or rejects with AdminError.
 */
async function call<T>(token: string, method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      cache: "no-store",
    });
  } catch {
    throw new AdminError(0, { code: ErrorCode.Unavailable, message: "the server did not answer" });
  }
  const json = (await response.json().catch(() => undefined)) as { ok?: boolean; error?: ErrorBody } | undefined;
  if (!response.ok || json?.ok !== true) {
    throw new AdminError(
      response.status,
      json?.error ?? { code: ErrorCode.Internal, message: `the server answered ${response.status}` },
    );
  }
  return json as T;
}

/** The admin endpoints the dashboard uses. */
export const adminApi = (token: string) => ({
  stats: () => call<AdminStats>(token, "GET", "/admin/stats"),
  kick: (user: string) =>
    call<{ ok: true; user: string; nodes: string[] }>(token, "POST", `/admin/users/${encodeURIComponent(user)}/kick`),
  notice: (text: string, room?: string) =>
    call<{ ok: true }>(token, "POST", "/admin/notices", room === undefined ? { text } : { text, room }),
});

export type AdminApi = ReturnType<typeof adminApi>;
