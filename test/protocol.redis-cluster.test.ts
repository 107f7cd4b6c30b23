import { protocolSuite } from "./protocol/suite.js";
import { nodesOnRedisCluster } from "./support/redis-cluster.js";

// The same suite again, on a 3-master Redis Cluster: sharded pub/sub and hash-tagged keys.
protocolSuite("cluster (3 nodes, 3-master Redis Cluster)", nodesOnRedisCluster(3));
