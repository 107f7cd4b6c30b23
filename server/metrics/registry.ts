import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { CLIENT_EVENTS, ErrorCode } from "../../protocol/index.js";
import type { LocalCounts } from "../presence/presence.js";
import { registerHistograms } from "./histogram.js";
import { EVENT_LABELS, type Tallies } from "./tallies.js";
import { LIMIT_NAMES } from "../limits/limits.js";
import type { NodeCapacity } from "../limits/node-capacity.js";

export interface RegistrySources {
  nodeId: string;
  tallies: Tallies;
  /** This node's counts, read at scrape time. */
  counts: () => LocalCounts;
  /** The connections counted against MAX_CONNECTIONS, and the cap. */
  capacity: Pick<NodeCapacity, "open" | "max">;
  /** Cluster mode: whether Redis answers now. Absent on one node, which has no Redis families. */
  redisUp?: () => boolean;
}

let processRegistry: Registry | undefined;

/**
 * Node's own metrics (heap, GC, event-loop lag, CPU, handles), once per process: they describe the
 * process, and prom-client's collectors of them (a GC observer, an event-loop monitor) cannot be
 * stopped, so that apps built one after the other in one process (tests) share one set.
 */
function defaultMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * A registry of this app's roomcast families (never prom-client's global one: several apps may
 * live in one process). Every value is read from `sources` when scraped; nothing here runs on the
 * hot path. `scrape()` answers the text format with Node's default metrics in front.
 */
export function metricsRegistry(sources: RegistrySources): { registry: Registry; scrape(): Promise<string> } {
  const { tallies } = sources;
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: "roomcast_node_info",
    help: "Always 1; its labels name this node and its mode.",
    labelNames: ["node", "mode"],
    registers,
    collect() {
      this.set({ node: sources.nodeId, mode: sources.redisUp ? "cluster" : "embedded" }, 1);
    },
  });
  const gauge = (name: string, help: string, read: (counts: LocalCounts) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(sources.counts()));
      },
    });
  gauge("roomcast_sockets_connected", "Sockets connected to this node (Socket.IO and seed bridge).", (c) => c.sockets);
  gauge("roomcast_users_online", "Distinct users with a socket on this node.", (c) => c.users);
  gauge("roomcast_rooms_held", "Rooms with a member on this node.", (c) => c.rooms);
  gauge(
    "roomcast_connections_open",
    "Client connections holding a place under MAX_CONNECTIONS, each until its connection closes.",
    () => sources.capacity.open,
  );
  gauge(
    "roomcast_connections_max",
    "MAX_CONNECTIONS: the node refuses connections past it (0: no cap).",
    () => sources.capacity.max,
  );

  new Counter({
    name: "roomcast_client_events_total",
    help: 'Client events answered, by event and outcome ("ok", an error code, or "no_ack" when sent without an ack).',
    labelNames: ["event", "outcome"],
    registers,
    collect() {
      this.reset();
      // Every protocol event's "ok" is there from the start, so that rate() sees its first increase.
      for (const event of CLIENT_EVENTS) this.inc({ event, outcome: "ok" }, 0);
      for (const [event, outcome, count] of tallies.events.entries()) this.inc({ event, outcome }, count);
    },
  });
  registerHistograms(registry, {
    name: "roomcast_ack_latency_seconds",
    help: "Time from a client event's arrival to its ack, by event.",
    label: "event",
    series: () => EVENT_LABELS.map((event, slot) => [event, tallies.events.latency[slot]!] as const),
  });
  new Counter({
    name: "roomcast_messages_appended_total",
    help: "Messages appended to history by this node, by kind (room, dm); a repeated clientId is not.",
    labelNames: ["kind"],
    registers,
    collect() {
      this.reset();
      this.inc({ kind: "room" }, tallies.roomMessages);
      this.inc({ kind: "dm" }, tallies.directMessages);
    },
  });
  new Counter({
    name: "roomcast_frames_delivered_total",
    help: "Socket.IO packets (events and acks) written to clients' connections.",
    registers,
    collect() {
      this.reset();
      this.inc(tallies.framesDelivered);
    },
  });
  new Counter({
    name: "roomcast_handshakes_refused_total",
    help: "Socket.IO handshakes refused, by error code.",
    labelNames: ["code"],
    registers,
    collect() {
      this.reset();
      for (const code of Object.values(ErrorCode)) this.inc({ code }, tallies.handshakesRefused.get(code));
    },
  });
  new Counter({
    name: "roomcast_rate_limited_total",
    help: "Requests refused by a rate limit, by limit.",
    labelNames: ["limit"],
    registers,
    collect() {
      this.reset();
      for (const limit of LIMIT_NAMES) this.inc({ limit }, tallies.rateLimited.get(limit));
    },
  });

  if (sources.redisUp) {
    const redisUp = sources.redisUp;
    new Gauge({
      name: "roomcast_redis_up",
      help: "1 while this node's Redis connections are ready, else 0.",
      registers,
      collect() {
        this.set(redisUp() ? 1 : 0);
      },
    });
    registerHistograms(registry, {
      name: "roomcast_redis_command_duration_seconds",
      help: "Time a Redis command or script of the stores took, failures included, by command.",
      label: "command",
      series: () => [...tallies.redisLatency.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    });
    const adapter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    adapter(
      "roomcast_adapter_messages_published_total",
      "Messages the Socket.IO adapter published to Redis.",
      () => tallies.adapterPublished,
    );
    adapter(
      "roomcast_adapter_messages_received_total",
      "Messages the Socket.IO adapter received from Redis.",
      () => tallies.adapterReceived,
    );
    new Counter({
      name: "roomcast_presence_reaped_total",
      help: "Presence entries this node took back from dead nodes: users' node entries and room memberships.",
      labelNames: ["entry"],
      registers,
      collect() {
        this.reset();
        this.inc({ entry: "user" }, tallies.reapedUsers);
        this.inc({ entry: "room_member" }, tallies.reapedRoomMembers);
      },
    });
  }

  return {
    registry,
    async scrape() {
      return Registry.merge([defaultMetrics(), registry]).metrics();
    },
  };
}
