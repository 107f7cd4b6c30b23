import { protocolSuite } from "./protocol/suite.js";
import { embedded } from "./support/deployment.js";

protocolSuite("embedded (memory)", embedded);
