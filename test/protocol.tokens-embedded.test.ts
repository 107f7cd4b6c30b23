import { protocolSuite } from "./protocol/suite.js";
import { useTokens } from "./support/clients.js";
import { embedded, withEnv } from "./support/deployment.js";
import { TEST_JWT_SECRET } from "./support/tokens.js";

// The protocol suite in token mode on one embedded node: the cheap run of token mode, which the
// mutation tests use too.
useTokens();
protocolSuite("token mode (embedded)", withEnv(embedded, { AUTH_JWT_SECRET: TEST_JWT_SECRET }));
