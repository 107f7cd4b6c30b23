/**
 * An example bot on the public SDK, small enough to copy as a template.
 *
 *   npm run bot -- --url http://localhost:3000 --room lobby --user echo-bot
 *   ROOMCAST_KEY=<secret> npm run bot -- --user echo-bot      # open mode: claim the name
 *   ROOMCAST_TOKEN=<jwt> npm run bot                          # token mode: the user is the token's sub
 *
 * --url may be repeated or comma-separated (the cluster's nodes); --room may be repeated.
 * --key (or $ROOMCAST_KEY) claims the name on a server in open mode, so that nobody else can use
 * it; --token (or $ROOMCAST_TOKEN) signs in on a server in token mode. Prefer the variables:
 * arguments are visible to every user of the machine (ps).
 * It answers /help, /who, /echo <text> and /time, logs its connection state, and exits 0 on
 * SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import { ChatClient, type ChatMessage } from "../sdk/index.js";

const USAGE = [
  "usage: npm run bot -- [--url http://localhost:3000]... [--room lobby]... [--user echo-bot] [--key <secret>]",
  "                      [--token <jwt>]",
  "  --key and --token may come from $ROOMCAST_KEY and $ROOMCAST_TOKEN instead (keeping secrets off the command",
  "  line); with a token, the user is the token's sub and --user is not needed",
].join("\n");
const DEFAULT_USER = "echo-bot";
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
      user: { type: "string" },
      key: { type: "string" },
      token: { type: "string" },
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

  // An argument wins over the environment; an empty one counts as not given.
  const token = values.token || process.env.ROOMCAST_TOKEN || undefined;
  const key = values.key || process.env.ROOMCAST_KEY || undefined;
  if (token !== undefined && (values.user !== undefined || key !== undefined)) {
    // In token mode the server takes the user from the token alone.
    log("with a token, --user and --key are ignored: the user is the token's sub");
  }
  let client: ChatClient;
  try {
    client =
      token !== undefined
        ? new ChatClient({ urls: values.url, token })
        : new ChatClient({ urls: values.url, user: values.user ?? DEFAULT_USER, key });
  } catch (error) {
    // A key of the wrong length, or a token without a sub.
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  log(`connecting as ${client.user || "the token's user"}`);
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
