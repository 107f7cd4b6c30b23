/**
 * A bot written against the published package, as its users write one: it imports nothing but
 * `roomcast-client`. test/sdk-package.test.ts installs the packed package into a fresh project,
 * copies this file there, compiles it with `tsc` against the package's declarations, and runs
 * the output with `node` against real chat nodes. (In the repository, `roomcast-client` is the
 * SDK's sources: test/tsconfig.json maps the name.)
 *
 * It joins a room, says hello, and answers `echo <text>` with `echoed <text>`. Everything it sees
 * is printed as one JSON line on stdout, for the test to read. SIGTERM closes the client, and the
 * process exits 0 once nothing is left running.
 *
 * Settings (environment): ROOMCAST_URLS (comma-separated), ROOMCAST_USER, ROOMCAST_KEY, ROOMCAST_ROOM.
 */
import { ChatClient, ChatError } from "roomcast-client";

const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

const room = setting("ROOMCAST_ROOM");
const client = new ChatClient({
  urls: setting("ROOMCAST_URLS"),
  user: setting("ROOMCAST_USER"),
  key: setting("ROOMCAST_KEY"),
  // Reconnect within a second at most once the node is back.
  backoff: { maxMs: 1000 },
});

client.on("state", (state) => print({ event: "state", state }));
client.on("reset", ({ room }) => print({ event: "reset", room }));
client.on("error", (error) => print({ event: "error", code: error.code, message: error.message }));
client.on("message", (message) => {
  print({ event: "message", id: message.id, prev: message.prev, from: message.from, text: message.text });
  if (message.room === room && message.from !== client.user && message.text.startsWith("echo ")) {
    client.send(room, `echoed ${message.text.slice("echo ".length)}`).then(
      (reply) => print({ event: "sent", id: reply.id, text: reply.text }),
      (error: unknown) => print({ event: "failed", code: error instanceof ChatError ? error.code : String(error) }),
    );
  }
});

process.once("SIGTERM", () => {
  void client.close().then(() => print({ event: "closed", state: client.state }));
});

await client.connect();
const joined = await client.join(room);
print({ event: "joined", room: joined.room, members: joined.members });
const hello = await client.send(room, "hello from the bot");
print({ event: "sent", id: hello.id, text: hello.text });
