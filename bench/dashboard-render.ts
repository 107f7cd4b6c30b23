/**
 * How long does the admin dashboard take to show a 4-node cluster (issue 13)? Starts a Redis and
 * four roomcast nodes from dist/ (as the bench's roomcast target does, with ADMIN_TOKEN), connects
 * sockets in rooms on every node, then opens /admin in headless Chromium (Debian's, as the tests
 * do) several times and reports the medians of:
 * - load: from navigation with the token kept in the tab (a reload) until every node's row, the
 *   rooms and the chart are drawn;
 * - sign-in: from the click on "Sign in" until the same;
 * - /admin/stats: one answer of the endpoint the page polls, measured from Node.
 *
 *   npm run build && npx tsx bench/dashboard-render.ts [--nodes 4] [--runs 7]
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import type { Socket } from "socket.io-client";
import { stopAll, stopChildrenOnExit } from "./processes.js";
import { startRedis } from "./redis.js";
import { connectMembers } from "./load/members.js";
import { roomcast } from "./targets/roomcast.js";

const { values } = parseArgs({
  options: { nodes: { type: "string", default: "4" }, runs: { type: "string", default: "7" } },
});
const nodes = Number(values.nodes);
const runs = Number(values.runs);
const TOKEN = "bench-admin-token-0123456789abcdef";
const SOCKETS_PER_NODE = 50;
const ROOMS = 20;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

stopChildrenOnExit();
const redis = await startRedis();
const clients: Socket[] = [];
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const target = await roomcast().start({
    nodes,
    redisUrls: Array.from({ length: nodes }, () => redis.url),
    redisPrefix: redis.prefix,
    nodeFlags: [],
    env: { ADMIN_TOKEN: TOKEN },
  });
  const urls = target.nodes.map((node) => node.url);
  await connectMembers(urls, nodes * SOCKETS_PER_NODE, ROOMS, clients);

  // Every row, the rooms and the chart's canvas are there, with this many nodes.
  const rendered = (count: number) =>
    document.querySelectorAll("#nodes tr[data-node]").length === count &&
    document.querySelector("#rooms tr[data-room]") !== null &&
    document.querySelector("#chart canvas") !== null;

  const loads: number[] = [];
  const signIns: number[] = [];
  const answers: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${urls[run % nodes]}/admin/`);
    await page.getByLabel("Admin token").fill(TOKEN);
    const clicked = performance.now();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForFunction(rendered, nodes, { timeout: 30_000 });
    signIns.push(performance.now() - clicked);

    // A reload with the token kept in the tab: navigation start to a drawn dashboard, in the page.
    await page.reload();
    await page.waitForFunction(rendered, nodes, { timeout: 30_000 });
    loads.push(await page.evaluate(() => performance.now()));
    await context.close();

    const asked = performance.now();
    const response = await fetch(`${urls[run % nodes]}/admin/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await response.json();
    answers.push(performance.now() - asked);
  }
  process.stdout.write(
    `${nodes} nodes, ${clients.length} sockets in ${ROOMS} rooms, ${runs} runs (medians):\n` +
      `  load with the token kept (navigation to drawn): ${median(loads).toFixed(0)} ms\n` +
      `  sign-in (click to drawn): ${median(signIns).toFixed(0)} ms\n` +
      `  /admin/stats answered in: ${median(answers).toFixed(1)} ms\n`,
  );
  await target.stop();
} finally {
  for (const socket of clients) socket.disconnect();
  await browser.close();
  await redis.stop();
  await stopAll();
}
