/**
 * An example bot on the public SDK, small enough to copy as a template.
 *
 *   npm run bot -- --url http://localhost:3000 --room lobby --user echo-bot
 *
 * --url may be repeated or comma-separated (the cluster's nodes); --room may be repeated.
 * It answers /help, /who, /echo <text> and /time, logs its connection state, and exits 0 on
 * SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { ChatClient, type ChatMessage } from "../sdk/index.js";

const USAGE = "usage: npm run bot -- [--url http://localhost:3000]... [--room lobby]... [--user echo-bot]";
const HELP = "I answer /help, /who, /echo <text> and /time";

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

/** The bot's reply to a message, or undefined when it is not a command. */
function reply(client: ChatClient, message: ChatMessage): string | undefined {
  const [command = "", ...rest] = message.text.trim().split(/\s+/);
  switch (command) {
    case "/help":
      return HELP;
    case "/who":
      return `in ${message.room}: ${client.members(message.room).join(", ")}`;
    case "/echo":
      return rest.length > 0 ? message.text.trim().slice("/echo".length).trim() : "usage: /echo <text>";
    case "/time":
      return new Date().toISOString();
    default:
      return undefined;
  }
}

function options() {
  return parseArgs({
    options: {
      url: { type: "string", multiple: true, default: ["http://localhost:3000"] },
      room: { type: "string", multiple: true, default: ["lobby"] },
      user: { type: "string", default: "echo-bot" },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values;
}

async function main(): Promise<void> {
  let values: ReturnType<typeof options>;
  try {
    values = options();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) return console.log(USAGE);

  const client = new ChatClient({ urls: values.url, user: values.user });
  client.on("state", (state) => log(`state ${state}`));
  client.on("reset", ({ room }) => log(`history of ${room} was reset`));
  client.on("error", (error) => log(`error ${error.code}: ${error.message}`));

  // The history a first join brings is old news: only later messages are commands to answer.
  let answering = false;
  client.on("message", (message) => {
    if (!answering || message.from === client.user) return;
    const text = reply(client, message);
    // A reply given up is also reported as an "error" event.
    if (text !== undefined) client.send(message.room, text).catch(() => {});
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: closing`);
    void client.close();
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));

  try {
    await client.connect();
    for (const room of values.room) {
      const { members } = await client.join(room);
      log(`joined ${room} (${members.join(", ")})`);
    }
    answering = true;
  } catch (error) {
    if (stopping) return;
    log(`giving up: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    await client.close();
  }
}

await main();
