import type { FastifyRequest } from "fastify";
import { badRequest } from "../errors.js";

/** The part of a body schema this hook reads. */
interface BodySchema {
  properties?: Record<string, { type?: string }>;
  additionalProperties?: boolean;
}

/** Whether `value` has JSON Schema type `type`. */
function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    default:
      return true;
  }
}

/**
 * A `preValidation` hook that takes a JSON body as it came. Fastify's Ajv, set up for the whole
 * server, coerces types (`{"from": 42}` would pass as "42") and drops unknown properties (a
 * misspelt `clientid` would vanish, and with it the idempotency the caller meant). Before Ajv sees
 * the body, this refuses a field of another JSON type than its schema says, or of a name the
 * schema does not know. Bodies of the API are flat, so the top level is all there is to check; a
 * body that is not an object is left to Ajv.
 */
export async function strictBody(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema?.body as BodySchema | undefined;
  const body = request.body;
  if (schema === undefined || typeof body !== "object" || body === null || Array.isArray(body)) return;
  for (const [key, value] of Object.entries(body)) {
    const property = Object.hasOwn(schema.properties ?? {}, key) ? schema.properties![key] : undefined;
    if (property === undefined) {
      if (schema.additionalProperties === false) throw badRequest(`body/${key} is not a field of this request`);
      continue;
    }
    if (property.type !== undefined && !hasType(value, property.type)) {
      throw badRequest(`body/${key} must be ${property.type === "integer" ? "an integer" : `a ${property.type}`}`);
    }
  }
}
