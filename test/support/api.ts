/**
 * Calls to the HTTP API (/api/v1), each answer checked against the OpenAPI document the node
 * publishes: a status the document does not list for the route, or a body that does not match its
 * schema, fails the test. So the document cannot drift from the code.
 */
import { Ajv, type ValidateFunction } from "ajv";
import formats from "ajv-formats";
import type { ApiScope } from "../../server/config.js";
import { within } from "./clients.js";

/** One client of each scope, as API_TOKENS lists them for the test nodes. */
export const API_TOKENS: Record<ApiScope, string> = {
  publish: "publish-token-0123456789abcdef0123456789",
  read: "read-token-0123456789abcdef0123456789abcd",
  admin: "admin-token-0123456789abcdef0123456789abc",
};

/** The API_TOKENS setting for those clients, named after their scope. */
export const API_TOKENS_ENV = Object.entries(API_TOKENS)
  .map(([scope, token]) => `${scope}-client:${scope}:${token}`)
  .join(",");

/** What the API answered. `body` is the parsed JSON. */
export interface ApiAnswer<T = ApiBody> {
  status: number;
  headers: Headers;
  body: T;
}

/** The fields answers carry; each route sends some of them. */
export interface ApiBody {
  ok: boolean;
  error?: { code: string; message: string; retryAfterMs?: number };
  [field: string]: unknown;
}

export interface CallOptions {
  /** The bearer token; null sends no Authorization header. Default: the admin client's. */
  token?: string | null;
  /** Sent as JSON; a string is sent as it is (with a JSON content type). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as X-Forwarded-For (for nodes that trust proxies). */
  forwardedFor?: string;
  /** Skip the contract check: a path the document does not describe (on purpose). */
  unchecked?: boolean;
}

interface OpenApiResponse {
  content?: Record<string, { schema: object }>;
  headers?: Record<string, { schema: object }>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
  components: object;
}

/** The OpenAPI document of a node, compiled: checks answers per path, method and status. */
export class ApiContract {
  private readonly validators = new Map<string, ValidateFunction>();
  /** The headers each response must carry, with a check of each one's value. */
  private readonly headerValidators = new Map<string, [name: string, validate: ValidateFunction][]>();
  private readonly templates: { template: string; pattern: RegExp; literals: number }[];

  private constructor(readonly document: OpenApiDocument) {
    const ajv = new Ajv({ strict: false, allErrors: true });
    // ajv-formats is CommonJS: its plugin is the module's `default`.
    formats.default(ajv);
    for (const [template, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          const key = this.key(template, method, status);
          const headers = Object.entries(response.headers ?? {});
          this.headerValidators.set(
            key,
            headers.map(([name, header]) => [name, ajv.compile(header.schema)]),
          );
          const schema = response.content?.["application/json"]?.schema;
          if (schema === undefined) continue;
          // The response's refs point into the document's components: compile it beside them.
          this.validators.set(key, ajv.compile({ ...schema, components: document.components }));
        }
      }
    }
    this.templates = Object.keys(document.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
      literals: template.split("/").filter((segment) => !segment.startsWith("{")).length,
    }));
  }

  /** Fetches `url`'s published document. */
  static async load(url: string): Promise<ApiContract> {
    const response = await within(fetch(`${url}/api/v1/openapi.json`), "the OpenAPI document");
    if (response.status !== 200) throw new Error(`GET /api/v1/openapi.json answered ${response.status}`);
    return new ApiContract((await response.json()) as OpenApiDocument);
  }

  private key(template: string, method: string, status: number | string): string {
    return `${method.toLowerCase()} ${template} ${status}`;
  }

  /** The document's path template a concrete path falls under (the most literal one). */
  templateOf(path: string): string | undefined {
    const pathname = path.split("?")[0]!;
    const matches = this.templates.filter(({ pattern }) => pattern.test(pathname));
    matches.sort((a, b) => b.literals - a.literals);
    return matches[0]?.template;
  }

  /**
   * Throws unless the document lists `status` for this route, `body` matches its schema, and every
   * header the document gives that response is there, with a value of its schema.
   */
  check(method: string, path: string, status: number, body: unknown, headers: Headers): void {
    const template = this.templateOf(path);
    if (template === undefined) throw new Error(`${method} ${path}: no path of the OpenAPI document matches`);
    const key = this.key(template, method, status);
    for (const [name, validateHeader] of this.headerValidators.get(key) ?? []) {
      const raw = headers.get(name);
      // Header values are text; the document's schemas type them (an integer, here).
      const value = raw !== null && /^-?\d+$/.test(raw) ? Number(raw) : raw;
      if (raw === null || !validateHeader(value)) {
        throw new Error(`${method} ${template} ${status}: header ${name} is ${raw}, not as the document says`);
      }
    }
    const validate = this.validators.get(key);
    if (validate === undefined) {
      throw new Error(`${method} ${template} answered ${status}, which the OpenAPI document does not list`);
    }
    if (!validate(body)) {
      throw new Error(
        `${method} ${template} ${status}: the body does not match the document: ` +
          `${JSON.stringify(validate.errors)}\nbody: ${JSON.stringify(body)}`,
      );
    }
  }
}

/** Calls the API of the node at `url`, each answer checked against `contract`. */
export function apiOf(url: string, contract: ApiContract) {
  return async function call<T = ApiBody>(
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? API_TOKENS.admin : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.forwardedFor !== undefined) headers["x-forwarded-for"] = options.forwardedFor;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    }
    const response = await within(fetch(`${url}/api/v1${path}`, { method, headers, body }), `${method} ${path}`);
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(
        `${method} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!options.unchecked) contract.check(method, `/api/v1${path}`, response.status, parsed, response.headers);
    return { status: response.status, headers: response.headers, body: parsed as T };
  };
}

export type ApiCall = ReturnType<typeof apiOf>;

/** `/segment/segment` with each part percent-encoded: names may hold spaces and any script. */
export const pathOf = (...segments: string[]): string =>
  segments.map((segment) => `/${encodeURIComponent(segment)}`).join("");

/** A valid request of one route, and the scope it needs. */
export interface RouteExample {
  method: string;
  path: string;
  options?: CallOptions;
  scope: ApiScope;
  /** Its status when allowed. */
  status: number;
}

/** One valid request of every route, on names of their own (`unique` makes them). */
export function routeExamples(unique: (base: string) => string): RouteExample[] {
  const [room, user] = [unique("room"), unique("user")];
  const mute = `${pathOf("rooms", room)}/mutes${pathOf(user)}`;
  // A sender of its own for each send, so that no send limit is reached.
  const send = () => ({ from: unique("bot"), text: "hello" });
  return [
    {
      method: "POST",
      path: `${pathOf("rooms", room)}/messages`,
      options: { body: send() },
      scope: "publish",
      status: 201,
    },
    {
      method: "POST",
      path: `${pathOf("users", user)}/messages`,
      options: { body: send() },
      scope: "publish",
      status: 201,
    },
    { method: "GET", path: `${pathOf("rooms", room)}/messages`, scope: "read", status: 200 },
    { method: "GET", path: "/rooms", scope: "read", status: 200 },
    { method: "GET", path: `${pathOf("rooms", room)}/members`, scope: "read", status: 200 },
    { method: "GET", path: pathOf("users", user), scope: "read", status: 200 },
    { method: "GET", path: "/nodes", scope: "read", status: 200 },
    { method: "POST", path: `${pathOf("users", user)}/kick`, scope: "admin", status: 200 },
    { method: "POST", path: "/notices", options: { body: { text: "hi", room } }, scope: "admin", status: 200 },
    // Each moderation route in an order where each finds what the one before made.
    {
      method: "PUT",
      path: pathOf("bans", user),
      options: { body: { seconds: 60, reason: "x" } },
      scope: "admin",
      status: 200,
    },
    { method: "GET", path: pathOf("bans", user), scope: "admin", status: 200 },
    { method: "DELETE", path: pathOf("bans", user), scope: "admin", status: 200 },
    { method: "PUT", path: mute, options: { body: { seconds: 60 } }, scope: "admin", status: 200 },
    { method: "GET", path: mute, scope: "admin", status: 200 },
    { method: "DELETE", path: mute, scope: "admin", status: 200 },
    // No such message: allowed, and not found.
    { method: "DELETE", path: `${pathOf("rooms", room)}/messages/1767225600000-000001`, scope: "admin", status: 404 },
  ];
}
