import type { ServerNode } from "./server-node.js";

/** How load-generator clients talk to a target. */
export type ClientProtocol = "socket.io" | "raw-ws";

export interface TargetStartOptions {
  /** Server processes the scenario asks for (raw-ws always runs one). */
  nodes: number;
  /** The Redis URL for each node: Redis itself, or a counting tap in front of it. */
  redisUrls: string[];
  /** Key and channel prefix, unique to the run. */
  redisPrefix: string;
  /** Extra Node flags for every server process (e.g. --cpu-prof). */
  nodeFlags: string[];
  /**
   * Settings for every server process, on top of the target's own: scenario 7 turns roomcast's
   * send limits on. The reference servers have no settings and take none.
   */
  env: Record<string, string>;
}

/** A running target: its server processes, in node order. */
export interface RunningTarget {
  nodes: ServerNode[];
  /** How it runs, for the report (e.g. "cluster, 2 nodes"). */
  mode: string;
  stop(): Promise<void>;
}

/** A system under test. All of them get the same load from the same client code. */
export interface Target {
  /** Name in tables and JSON, e.g. "roomcast", "stock", "raw-ws", "roomcast+cork". */
  name: string;
  protocol: ClientProtocol;
  /** Whether its nodes exchange messages through Redis. */
  usesRedis: boolean;
  /** Whether it enforces roomcast's per-user send limits, so that scenario 7 (flood) can test them. */
  limitsSends?: boolean;
  start(options: TargetStartOptions): Promise<RunningTarget>;
}

/** Stops every node of a running target, in parallel. */
export async function stopNodes(nodes: readonly ServerNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((node) => node.process.stop()));
}
