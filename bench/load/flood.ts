import { now, sleep, sleepUntil } from "../clock.js";
import type { LoadClient, SendAnswer } from "./clients.js";
import { Histogram } from "./histogram.js";
import type { FloodCounts, FloodPlan, FloodRunResult } from "./messages.js";
import { encodeFloodText } from "./payload.js";
import { sendOnSchedule } from "./schedule.js";

/** How long after `stopAt` the flood waits for the acks of its last sends. */
const ANSWER_GRACE_MS = 1000;

const noCounts = (): FloodCounts => ({ attempted: 0, skipped: 0, accepted: 0, refused: 0, errors: {} });

function tally(counts: FloodCounts, answer: SendAnswer): void {
  if (answer.ok) counts.accepted++;
  else if (answer.code === "rate_limited") counts.refused++;
  else counts.errors[answer.code] = (counts.errors[answer.code] ?? 0) + 1;
}

/**
 * Runs a flood over a worker's clients (scenario 7): room sends and direct messages on an open-loop
 * schedule until `stopAt`, and how the server answered each, over the run and over the window.
 * Sends still unanswered a second after `stopAt` count as attempted only; sends that fall due on a
 * socket the server closed are skipped (an emit there would wait in the client, never sent).
 */
export async function flood(clients: LoadClient[], plan: FloodPlan): Promise<FloodRunResult> {
  const senders = new Set(plan.senders.map((sender) => clients[sender.client]!));
  const openAtStart = [...senders].filter((client) => client.connected).length;
  const run = noCounts();
  const window = noCounts();
  const sendLag = new Histogram();
  let unanswered = 0;
  let scheduleDone = false;
  let allAnswered = () => {};
  const answered = new Promise<void>((resolve) => (allAnswered = resolve));
  const rate = plan.senders.length === 0 ? 0 : plan.ratePerSecond;
  await sendOnSchedule({ ...plan, ratePerSecond: rate, burst: 1 }, (k, intendedAt) => {
    const sender = plan.senders[k % plan.senders.length]!;
    const client = clients[sender.client]!;
    const inWindow = intendedAt >= plan.windowStart && intendedAt < plan.windowEnd;
    if (!client.connected) {
      run.skipped++;
      if (inWindow) window.skipped++;
      return;
    }
    sendLag.record(now() - intendedAt);
    run.attempted++;
    if (inWindow) window.attempted++;
    unanswered++;
    const onAnswer = (answer: SendAnswer) => {
      tally(run, answer);
      if (inWindow) tally(window, answer);
      if (--unanswered === 0 && scheduleDone) allAnswered();
    };
    const text = encodeFloodText(k, plan.textLength);
    if ("room" in sender) client.send(sender.room, text, onAnswer);
    else client.sendDirect(sender.to, text, onAnswer);
  });
  scheduleDone = true;
  if (unanswered === 0) allAnswered();
  await sleepUntil(plan.stopAt);
  await Promise.race([answered, sleep(ANSWER_GRACE_MS)]);
  // Copies: acks that come later must not change a result already on its way.
  return {
    run: structuredClone(run),
    window: structuredClone(window),
    socketsDropped: openAtStart - [...senders].filter((client) => client.connected).length,
    sendLag: sendLag.toJSON(),
  };
}
