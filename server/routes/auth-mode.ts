import type { FastifyInstance } from "fastify";

export interface AuthModeOptions {
  /** Whether handshakes need a signed token (token mode) or a name, and optionally a key. */
  tokenMode: boolean;
}

/**
 * `GET /auth/mode`: `{ mode: "token" }` or `{ mode: "open" }`, so that the page knows whether to
 * ask for a name or for a sign-in link before it tries to connect.
 */
export async function authModeRoutes(app: FastifyInstance, options: AuthModeOptions): Promise<void> {
  const answer = { mode: options.tokenMode ? "token" : "open" } as const;
  app.get("/auth/mode", async () => answer);
}
