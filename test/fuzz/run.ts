/**
 * The fuzz harness's long form (issue 11): `npm run fuzz -- [--frames N] [--seed S] [--lanes L]`.
 * Starts Redis and two node processes from dist/ (run `npm run build` first), sends N malformed
 * frames (default 100,000) while a well-behaved pair chats, and prints the report as JSON. Exits
 * 1 when a node crashed, the pair lost a message, an ack said `internal`, or a node is unhealthy.
 *
 * `--seed S --show K` prints frame K of seed S (a finding's `frame`) instead, to send it again.
 */
import { parseArgs } from "node:util";
import { frameSource, type Frame } from "./frames.js";
import { startFuzzCluster } from "./cluster.js";
import { campaignFailures, runFuzzCampaign } from "./harness.js";

const { values } = parseArgs({
  options: {
    frames: { type: "string", default: "100000" },
    seed: { type: "string" },
    lanes: { type: "string", default: "32" },
    show: { type: "string" },
  },
});

const wholeNumber = (name: string, raw: string): number => {
  if (!/^\d+$/.test(raw)) throw new Error(`--${name} must be a whole number, got "${raw}"`);
  return Number(raw);
};

/** Frame `index` of the campaign seeded with `seed`, its packets readable as JSON. */
function showFrame(seed: number, index: number): string {
  const source = frameSource(seed);
  let frame: Frame;
  do frame = source.next();
  while (frame.index < index);
  const packets = frame.packets.map((packet) =>
    packet.kind === "text" ? packet.data : `${packet.kind}:${packet.data.toString("hex")}`,
  );
  return JSON.stringify({ ...frame, packets }, null, 2);
}

async function main(): Promise<void> {
  if (values.show !== undefined) {
    if (values.seed === undefined) throw new Error("--show needs the --seed of the campaign");
    process.stdout.write(`${showFrame(wholeNumber("seed", values.seed), wholeNumber("show", values.show))}\n`);
    return;
  }
  const frames = wholeNumber("frames", values.frames);
  // A random seed unless one is given; the report prints it, so a failing run can be replayed.
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : wholeNumber("seed", values.seed);
  const lanes = wholeNumber("lanes", values.lanes);
  process.stderr.write(`fuzz: ${frames} frames, seed ${seed}, ${lanes} lanes\n`);
  const cluster = await startFuzzCluster();
  try {
    const report = await runFuzzCampaign({
      nodes: cluster.nodes,
      frames,
      seed,
      lanes,
      onProgress: (sent, seconds) => process.stderr.write(`fuzz: ${sent} frames in ${seconds.toFixed(0)} s\n`),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const problems = campaignFailures(report);
    for (const problem of problems) process.stderr.write(`fuzz: FAILED: ${problem}\n`);
    process.exitCode = problems.length > 0 ? 1 : 0;
  } finally {
    await cluster.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
