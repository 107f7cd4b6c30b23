import { describe, expect, it } from "vitest";
import { ErrorCode, LIMITS } from "../../protocol/index.js";
import { makeValidators } from "../../server/chat/validate.js";
import { CodedError } from "../../server/errors.js";

const validate = makeValidators(10);

/** The coded error `parse` throws, with its message. */
function refusal(parse: () => unknown): { code: string; message: string } {
  try {
    parse();
  } catch (error) {
    if (error instanceof CodedError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("the validators", () => {
  it("name what they refuse: a room or a user, by its field", () => {
    expect(refusal(() => validate.join({ room: "" })).message).toBe("room must be 1 to 64 characters");
    expect(refusal(() => validate.leave({ room: 1 })).message).toBe("room must be a string");
    expect(refusal(() => validate.send({ room: " x", text: "hi" })).message).toMatch(/^room must not start/);
    expect(refusal(() => validate.history({ room: "" })).message).toMatch(/^room must be/);
    expect(refusal(() => validate.typing({ room: "", typing: true })).message).toMatch(/^room must be/);
    expect(refusal(() => validate.direct({ to: "", text: "hi" })).message).toBe("user must be 1 to 32 characters");
  });

  it("take clientIds of 1 to 64 characters", () => {
    const { min, max } = LIMITS.clientId;
    expect(validate.send({ room: "r", text: "t", clientId: "x".repeat(min) }).clientId).toBe("x");
    expect(validate.send({ room: "r", text: "t", clientId: "x".repeat(max) }).clientId).toHaveLength(max);
    for (const clientId of ["", "x".repeat(max + 1), 7]) {
      expect(refusal(() => validate.send({ room: "r", text: "t", clientId }))).toEqual({
        code: ErrorCode.BadRequest,
        message: `clientId must be a string of ${min} to ${max} characters`,
      });
    }
  });

  it("take texts of 1 to MAX_MESSAGE_LENGTH UTF-16 units, too_long beyond", () => {
    expect(validate.send({ room: "r", text: "x".repeat(10) }).text).toHaveLength(10);
    expect(refusal(() => validate.send({ room: "r", text: "x".repeat(11) })).code).toBe(ErrorCode.TooLong);
    expect(refusal(() => validate.send({ room: "r", text: "" })).code).toBe(ErrorCode.BadRequest);
  });

  it("take history limits of 1 to 200", () => {
    expect(validate.history({ room: "r", limit: 1 }).limit).toBe(1);
    expect(validate.history({ room: "r", limit: LIMITS.maxHistoryPage }).limit).toBe(LIMITS.maxHistoryPage);
    for (const limit of [0, LIMITS.maxHistoryPage + 1, 1.5, "5"]) {
      expect(refusal(() => validate.history({ room: "r", limit })).code).toBe(ErrorCode.BadRequest);
    }
  });

  it("take tokens of 1 to 8192 characters in auth:refresh", () => {
    expect(validate.refresh({ token: "t" })).toEqual({ token: "t" });
    expect(validate.refresh({ token: "t".repeat(8192) }).token).toHaveLength(8192);
    for (const token of ["", "t".repeat(8193), 42, undefined]) {
      expect(refusal(() => validate.refresh({ token }))).toEqual({
        code: ErrorCode.BadRequest,
        message: "token must be a string of 1 to 8192 characters",
      });
    }
  });

  it("take message ids in since and before", () => {
    const id = "0001700000000000-000001".slice(3);
    expect(validate.join({ room: "r", since: id }).since).toBe(id);
    expect(validate.history({ room: "r", before: id }).before).toBe(id);
    expect(refusal(() => validate.join({ room: "r", since: "nope" })).message).toMatch(/^since must be a message id/);
  });
});
