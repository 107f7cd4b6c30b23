import { embedded } from "./support/deployment.js";
import { protocolSuite } from "./protocol.suite.js";

protocolSuite("embedded (memory)", embedded);
