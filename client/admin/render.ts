import { byId, h, setChildren } from "../page/dom.js";
import type { AdminStats } from "./api.js";
import { ago, count, duration, mebibytes, milliseconds, rate } from "./format.js";

/** The latest value of a series that is not a gap, or undefined. */
function latest(values: readonly (number | null)[]): number | undefined {
  for (let index = values.length - 1; index >= 0; index -= 1) {
    const value = values[index];
    if (value !== null && value !== undefined) return value;
  }
  return undefined;
}

/** The cards of what holds now: nodes, connections, users, and the last step's messages per second. */
export function renderCards(stats: AdminStats): void {
  const sum = (pick: (node: AdminStats["nodes"][number]) => number) =>
    stats.nodes.reduce((total, node) => total + pick(node), 0);
  byId("now-nodes", HTMLElement).textContent = count(stats.nodes.length);
  byId("now-connections", HTMLElement).textContent = count(sum((node) => node.sockets));
  byId("now-users", HTMLElement).textContent = count(sum((node) => node.users));
  const messages = latest(stats.series.messagesPerSecond);
  byId("now-rate", HTMLElement).textContent = messages === undefined ? "–" : rate(messages);
}

/** One row per live node, by name, with its vitals when it reports them. */
export function renderNodes(stats: AdminStats): void {
  const rows = [...stats.nodes]
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
    .map((node) => {
      const vitals = node.vitals;
      const cell = (text: string) => h("td", { class: "number" }, text);
      return h(
        "tr",
        { "data-node": node.node },
        h("th", { scope: "row" }, node.node),
        cell(count(node.sockets)),
        cell(count(node.users)),
        cell(vitals ? mebibytes(vitals.heapUsedBytes) : "–"),
        cell(vitals ? milliseconds(vitals.eventLoopLagMs) : "–"),
        cell(vitals ? duration(vitals.uptimeSeconds) : "–"),
        cell(ago(node.seenAt, stats.now)),
      );
    });
  setChildren(byId("nodes", HTMLElement), ...rows);
}

/** The busiest rooms, most members first. */
export function renderRooms(stats: AdminStats): void {
  const { rooms, scanned, complete } = stats.rooms;
  const rows =
    rooms.length === 0
      ? [h("tr", {}, h("td", { colspan: 2, class: "muted" }, "No room has members."))]
      : rooms.map(({ room, members }) =>
          h("tr", { "data-room": room }, h("th", { scope: "row" }, room), h("td", { class: "number" }, count(members))),
        );
  setChildren(byId("rooms", HTMLElement), ...rows);
  byId("rooms-note", HTMLElement).textContent = complete
    ? `${count(scanned)} rooms with members in all.`
    : `Among the first ${count(scanned)} rooms by name; there are more.`;
}
