import { redisCluster } from "./support/cluster.js";
import { protocolSuite } from "./protocol.suite.js";

// The same suite as the embedded run, on 3 nodes sharing Redis, clients spread over the nodes.
protocolSuite("cluster (3 nodes, Redis)", redisCluster(3));
