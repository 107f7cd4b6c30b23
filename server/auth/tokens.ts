import { createPublicKey } from "node:crypto";
import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { ErrorCode } from "../../protocol/index.js";
import type { AuthConfig, TokenKey } from "../config.js";
import { CodedError, UnavailableError } from "../errors.js";

/** What a verified token says. */
export interface VerifiedToken {
  /** The `sub` claim, not yet checked as a user name. */
  subject: string;
  /** The `exp` claim, in epoch milliseconds. */
  expiresAt: number;
  /** The `rooms` claim: exact room names and `prefix-*` patterns; undefined means every room. */
  rooms?: string[];
}

/** Verifies the tokens of token mode. */
export interface TokenVerifier {
  /**
   * Verifies a token's signature and claims.
   *
   * @throws CodedError `unauthorized` saying why the token is refused, or `unavailable` when the
   *   key set (JWKS) cannot be fetched.
   */
  verify(token: string): Promise<VerifiedToken>;
}

const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"];
const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** The algorithms a PEM public key can verify; the key decides, never the token's header. */
function algorithmsOf(pem: string): string[] {
  const key = createPublicKey(pem);
  switch (key.asymmetricKeyType) {
    case "rsa":
      return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    case "rsa-pss":
      return ["PS256", "PS384", "PS512"];
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const byCurve: Record<string, string> = { prime256v1: "ES256", secp384r1: "ES384", secp521r1: "ES512" };
      const algorithm = curve === undefined ? undefined : byCurve[curve];
      if (algorithm === undefined) throw new Error(`unsupported EC curve ${String(curve)}`);
      return [algorithm];
    }
    case "ed25519":
    case "ed448":
      return ["EdDSA", "Ed25519"];
    default:
      throw new Error(`unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}

/** A key source for `jwtVerify`, and the algorithms it accepts. */
function keySource(tokenKey: TokenKey): { key: Uint8Array | JWTVerifyGetKey; algorithms: string[] } {
  switch (tokenKey.kind) {
    case "secret":
      return { key: new TextEncoder().encode(tokenKey.secret), algorithms: HMAC_ALGORITHMS };
    case "public-key": {
      const algorithms = algorithmsOf(tokenKey.pem);
      // One imported key per algorithm, made on first use.
      const imported = new Map<string, Promise<CryptoKey>>();
      const key: JWTVerifyGetKey = ({ alg }) => {
        let cryptoKey = imported.get(alg);
        if (!cryptoKey) imported.set(alg, (cryptoKey = importSPKI(tokenKey.pem, alg)));
        return cryptoKey;
      };
      return { key, algorithms };
    }
    case "jwks":
      // jose caches the set (10 min), and fetches it again when a token names an unknown key, at
      // most every 5 s, so that a rotated key works within seconds and no flood of bad kids can
      // hammer the host's endpoint.
      return {
        key: createRemoteJWKSet(new URL(tokenKey.url), { timeoutDuration: 5000, cooldownDuration: 5000 }),
        algorithms: ASYMMETRIC_ALGORITHMS,
      };
  }
}

const unauthorized = (message: string) => new CodedError(ErrorCode.Unauthorized, message);

/** Turns jose's failure into the reason a client is told. */
function refusal(error: unknown): CodedError {
  if (error instanceof errors.JWTExpired) return unauthorized("the token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return unauthorized(`the token has no "${error.claim}" claim`);
    switch (error.claim) {
      case "nbf":
        return unauthorized("the token is not valid yet");
      case "iss":
        return unauthorized("the token has the wrong issuer");
      case "aud":
        return unauthorized("the token has the wrong audience");
      default:
        return unauthorized(`the token's "${error.claim}" claim is invalid`);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthorized("the token's signature is not valid");
  if (error instanceof errors.JOSEAlgNotAllowed) return unauthorized("the token's algorithm is not accepted");
  if (error instanceof errors.JWKSNoMatchingKey) return unauthorized("no key of the server matches the token");
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new UnavailableError("the token key set", { cause: error });
  }
  if (error instanceof errors.JOSEError) return unauthorized("the token is malformed");
  // Anything else is the key set's fetch failing (network, DNS, HTTP status).
  return new UnavailableError("the token key set", { cause: error });
}

function roomsClaim(payload: JWTPayload): string[] | undefined {
  const rooms = payload.rooms;
  if (rooms === undefined) return undefined;
  if (!Array.isArray(rooms) || !rooms.every((room) => typeof room === "string")) {
    throw unauthorized('the token\'s "rooms" claim must be a list of room names');
  }
  return rooms;
}

/**
 * The token verifier of the configured key, or undefined in open mode.
 *
 * @example
 * const verifier = tokenVerifier(config.auth);
 * const { subject, expiresAt } = await verifier!.verify(token);
 */
export function tokenVerifier(auth: AuthConfig): TokenVerifier | undefined {
  if (!auth.tokenKey) return undefined;
  const { key, algorithms } = keySource(auth.tokenKey);
  const options = {
    algorithms,
    requiredClaims: ["exp", "sub"],
    ...(auth.issuer !== undefined ? { issuer: auth.issuer } : {}),
    ...(auth.audience !== undefined ? { audience: auth.audience } : {}),
  };
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        // Two call shapes: a key, or a function that picks the key from the header.
        ({ payload } =
          typeof key === "function" ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options));
      } catch (error) {
        throw refusal(error);
      }
      return { subject: payload.sub!, expiresAt: payload.exp! * 1000, rooms: roomsClaim(payload) };
    },
  };
}
