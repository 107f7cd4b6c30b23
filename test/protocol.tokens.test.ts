import { protocolSuite } from "./protocol/suite.js";
import { useTokens } from "./support/clients.js";
import { nodesOnOneRedis, withEnv } from "./support/deployment.js";
import { TEST_JWT_SECRET } from "./support/tokens.js";

// The whole protocol suite again in token mode: every client proves its user with a signed token.
useTokens();
protocolSuite("token mode (2 nodes, one Redis)", withEnv(nodesOnOneRedis(2), { AUTH_JWT_SECRET: TEST_JWT_SECRET }));
