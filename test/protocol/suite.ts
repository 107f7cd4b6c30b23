/**
 * The chat protocol, end to end through socket.io-client, against any deployment a factory starts:
 * one embedded node, or several nodes sharing state. The k-th client of a test connects to node
 * k mod N, so with several nodes every delivery crosses nodes.
 *
 * One suite, in one file per event or concern; this entry registers every part and starts the
 * deployments they run on. How the tests wait (events, deadlines, barriers): see helpers.ts.
 */
import { afterEach, describe } from "vitest";
import { closeAllClients } from "../support/clients.js";
import type { DeploymentFactory } from "../support/deployment.js";
import { adminDisabledTests, adminTests } from "./admin.js";
import { dmTests } from "./dm.js";
import { dmSyncOnShortFeedTests, dmSyncTests } from "./dm-sync.js";
import { handshakeTests } from "./handshake.js";
import { healthTests } from "./health.js";
import { deploy } from "./helpers.js";
import { historyTests } from "./history.js";
import { isolationTests } from "./isolation.js";
import { joinOnShortLogTests, joinTests, SHORT_HISTORY_SIZE } from "./join.js";
import { leaveTests } from "./leave.js";
import { nameTests } from "./names.js";
import {
  ALLOWED_ORIGIN,
  allowedOriginsTests,
  anyOriginTests,
  originTests,
  PUBLIC_URL,
  publicUrlTests,
} from "./origin.js";
import {
  FULL_PRESENCE_BATCH_ENV,
  fullPresenceBatchTests,
  PRESENCE_BATCH_ENV,
  presenceBatchTests,
  presenceTests,
} from "./presence.js";
import { MUTES_ENV, muteTests } from "./mutes.js";
import { LIMITED_ENV, rateLimitTests } from "./rate-limit.js";
import { roomsListTests } from "./rooms-list.js";
import { sendTests } from "./send.js";
import { SHORT_MAX_MESSAGE_LENGTH, textLengthTests } from "./text-length.js";
import { typingTests } from "./typing.js";
import { validationTests } from "./validation.js";

/**
 * Registers the protocol suite, run against deployments from `factory`: one with the test
 * defaults, and one per group of settings that some tests need.
 */
export function protocolSuite(name: string, factory: DeploymentFactory): void {
  describe(name, () => {
    afterEach(closeAllClients);

    const nodes = deploy(factory);
    handshakeTests(nodes);
    joinTests(nodes);
    leaveTests(nodes);
    sendTests(nodes);
    historyTests(nodes);
    roomsListTests(nodes);
    dmTests(nodes);
    dmSyncTests(nodes);
    typingTests(nodes);
    presenceTests(nodes);
    nameTests(nodes);
    isolationTests(nodes);
    validationTests(nodes);
    originTests(nodes);
    healthTests(nodes);
    adminTests(nodes);

    describe("with HISTORY_SIZE=3, MAX_MESSAGE_LENGTH=10 and ALLOWED_ORIGINS", () => {
      const small = deploy(factory, {
        env: {
          HISTORY_SIZE: String(SHORT_HISTORY_SIZE),
          MAX_MESSAGE_LENGTH: String(SHORT_MAX_MESSAGE_LENGTH),
          ALLOWED_ORIGINS: ALLOWED_ORIGIN,
        },
      });
      joinOnShortLogTests(small);
      dmSyncOnShortFeedTests(small, SHORT_HISTORY_SIZE);
      textLengthTests(small);
      allowedOriginsTests(small);
    });

    describe("with PUBLIC_URL", () => {
      publicUrlTests(deploy(factory, { env: { PUBLIC_URL } }));
    });

    describe("with ALLOWED_ORIGINS=* and without ADMIN_TOKEN", () => {
      const open = deploy(factory, { env: { ALLOWED_ORIGINS: "*", ADMIN_TOKEN: "" } });
      anyOriginTests(open);
      adminDisabledTests(open);
    });

    describe("with PRESENCE_BATCH_ABOVE=2", () => {
      presenceBatchTests(deploy(factory, { env: PRESENCE_BATCH_ENV }));
    });

    describe("with PRESENCE_BATCH_ABOVE=2 and a long PRESENCE_BATCH_MS", () => {
      fullPresenceBatchTests(deploy(factory, { env: FULL_PRESENCE_BATCH_ENV }));
    });

    describe("with API_TOKENS", () => {
      muteTests(deploy(factory, { env: MUTES_ENV }));
    });

    describe("with small per-user rate limits", () => {
      const limited = deploy(factory, { env: LIMITED_ENV });
      rateLimitTests(limited);
    });
  });
}
