import { protocolSuite } from "./protocol/suite.js";
import { nodesOnOneRedis } from "./support/deployment.js";

// The same suite as the embedded run, on 3 nodes sharing one Redis, clients spread over the nodes.
protocolSuite("cluster (3 nodes, Redis)", nodesOnOneRedis(3));
