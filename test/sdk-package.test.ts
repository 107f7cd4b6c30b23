/**
 * The SDK as its users get it: client/sdk packed with `npm pack` (which builds it), the tarball
 * installed into a fresh project outside the repository, and a bot written against the package
 * alone (test/sdk-package/bot.ts), compiled there with `tsc` against the package's declarations
 * and run with `node` against two real node processes on one Redis (from dist/: `npm run build`
 * first).
 *
 * `npm install` fetches socket.io-client from the npm cache, or from the registry.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeAllClients, connected, next, ok, within } from "./support/clients.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SDK = join(ROOT, "client/sdk");
const PACKAGE = "roomcast-client";
/** npm may have to reach the registry; a cold `npm install` on a busy machine takes a while. */
const NPM_DEADLINE_MS = 60_000;

/** One JSON line of the bot (see test/sdk-package/bot.ts). */
type BotLine =
  | { event: "state"; state: string }
  | { event: "joined"; room: string; members: string[] }
  | { event: "message"; id: string; prev: string; from: string; text: string }
  | { event: "sent"; id: string; text: string }
  | { event: "reset"; room: string }
  | { event: "error" | "failed"; code: string; message?: string }
  | { event: "closed"; state: string };
type LineOf<E extends BotLine["event"]> = Extract<BotLine, { event: E }>;

/**
 * The environment without what describes the npm run that started the tests (`npm test`), so that
 * the npm commands here act on their own project; npm's settings (registry, cache, proxy) stay.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const caller = /^npm_(package_|lifecycle_|command$|execpath$|config_local_prefix$|config_call$)/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !caller.test(name)));
  return { ...env, ...extra };
}

/** Runs a command to its end; resolves with its stdout, rejects with its stderr unless it exits 0. */
function run(command: string, args: string[], cwd: string, ms = NPM_DEADLINE_MS): Promise<string> {
  const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${stdout}${stderr}`)),
    );
  });
  return within(done, `${command} ${args.join(" ")}`, ms).finally(() => child.kill("SIGKILL"));
}

/** The modules a JavaScript or TypeScript source imports (static, dynamic and type imports). */
const importsOf = (source: string) => ts.preProcessFile(source, true, true).importedFiles;

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** The bot, run by `node` in the project that installed the package; collects its JSON lines. */
class Bot {
  readonly lines: BotLine[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<() => void>();
  #stderr = "";

  constructor(cwd: string, env: Record<string, string>) {
    this.#child = spawn(process.execPath, ["bot.js"], { cwd, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    this.exited = new Promise((resolve) => this.#child.once("exit", (code) => resolve(code)));
    let pending = "";
    this.#child.stdout!.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) this.lines.push(JSON.parse(line) as BotLine);
      for (const waiter of [...this.#waiters]) waiter();
    });
    this.#child.stderr!.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
  }

  /** The lines of one kind, in the order printed. */
  all<E extends BotLine["event"]>(event: E): LineOf<E>[] {
    return this.lines.filter((line): line is LineOf<E> => line.event === event);
  }

  /** Resolves with the first line of kind `event`, printed so far or later, that `match` accepts. */
  until<E extends BotLine["event"]>(event: E, match: (line: LineOf<E>) => boolean = () => true): Promise<LineOf<E>> {
    let waiter!: () => void;
    const seen = new Promise<LineOf<E>>((resolve) => {
      waiter = () => {
        const found = this.all(event).find(match);
        if (found) resolve(found);
      };
      this.#waiters.add(waiter);
      waiter();
    });
    const exited = this.exited.then((code) => {
      throw new Error(`the bot exited (${code}) before printing ${event}: ${this.#stderr}`);
    });
    return within(Promise.race([seen, exited]), `the bot's ${event}`).finally(() => this.#waiters.delete(waiter));
  }

  /** SIGTERM, as an operator stops it; resolves with the exit code. */
  stop(): Promise<number | null> {
    if (this.#child.exitCode === null) this.#child.kill("SIGTERM");
    return within(this.exited, "the bot to exit after SIGTERM");
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
  }
}

describe(`the SDK as the package ${PACKAGE}`, () => {
  const work = mkdtempSync(join(tmpdir(), "roomcast-sdk-package-"));
  /** A fresh project that installed the tarball, as a bot author's would. */
  const project = join(work, "project");
  const installed = join(project, "node_modules", PACKAGE);
  let packed: { filename: string; files: { path: string }[] };

  beforeAll(async () => {
    const output = await run("npm", ["pack", "--json", "--pack-destination", work], SDK);
    packed = (JSON.parse(output) as (typeof packed)[])[0]!;

    mkdirSync(project);
    await run("npm", ["init", "-y"], project);
    const manifest = join(project, "package.json");
    const fields = JSON.parse(readFileSync(manifest, "utf8")) as Record<string, unknown>;
    writeFileSync(manifest, JSON.stringify({ ...fields, type: "module" }, null, 2));
    await run(
      "npm",
      ["install", join(work, packed.filename), "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
      project,
    );

    // The bot, compiled as a TypeScript user compiles it (with the repository's tsc and Node types).
    copyFileSync(join(ROOT, "test/sdk-package/bot.ts"), join(project, "bot.ts"));
    const compilerOptions = {
      module: "nodenext",
      target: "es2022",
      lib: ["es2023"],
      strict: true,
      // The package's declarations are checked too, without DOM types.
      skipLibCheck: false,
      types: ["node"],
      typeRoots: [join(ROOT, "node_modules/@types")],
    };
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["bot.ts"] }));
    await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], project);
  }, 2 * NPM_DEADLINE_MS);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("packs the built modules, their declarations, the README and package.json, and nothing else", () => {
    const paths = packed.files.map((file) => file.path).sort();
    const stray = paths.filter(
      (path) =>
        path !== "package.json" &&
        path !== "README.md" &&
        !/^dist\/(client\/sdk|protocol)\/[a-z-]+\.(js|js\.map|d\.ts)$/.test(path),
    );
    expect(stray).toEqual([]);
    // Every module of the SDK, and the protocol it imports, with its declarations.
    const modules = readdirSync(SDK)
      .filter((name) => name.endsWith(".ts"))
      .map((name) => `dist/client/sdk/${name.replace(/\.ts$/, "")}`);
    for (const module of [...modules, "dist/protocol/index"]) {
      expect(paths).toContain(`${module}.js`);
      expect(paths).toContain(`${module}.d.ts`);
    }
    expect(paths).toContain("README.md");
  });

  it("installs as a copy that imports nothing but its own files and socket.io-client", () => {
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      engines: Record<string, string>;
      types: string;
    };
    expect(Object.keys(manifest.dependencies)).toEqual(["socket.io-client"]);
    expect(manifest.engines.node).toBe(">=20");
    expect(existsSync(join(installed, manifest.types))).toBe(true);

    const elsewhere: string[] = [];
    for (const file of filesUnder(installed).filter((path) => /\.(js|d\.ts)$/.test(path))) {
      const path = join(installed, file);
      for (const { fileName: specifier } of importsOf(readFileSync(path, "utf8"))) {
        const inside = specifier.startsWith(".")
          ? !relative(installed, resolve(dirname(path), specifier)).startsWith("..") &&
            existsSync(resolve(dirname(path), specifier))
          : Object.hasOwn(manifest.dependencies, specifier);
        if (!inside) elsewhere.push(`${file}: ${specifier}`);
      }
    }
    expect(elsewhere).toEqual([]);
  });

  it("compiled a TypeScript bot that imports nothing but the package", () => {
    const imports = importsOf(readFileSync(join(project, "bot.ts"), "utf8")).map((file) => file.fileName);
    expect(imports).toEqual([PACKAGE]);
    expect(existsSync(join(project, "bot.js"))).toBe(true);
  });

  it("bundles for the browser from the installed package, with no Node.js module in it", async () => {
    writeFileSync(
      join(project, "page.js"),
      `import { ChatClient } from "${PACKAGE}";\nglobalThis.ChatClient = ChatClient;\n`,
    );
    const result = await build({
      configFile: false,
      root: project,
      logLevel: "silent",
      build: { write: false, target: "es2022", rollupOptions: { input: join(project, "page.js") } },
    });
    const outputs = (Array.isArray(result) ? result : [result]).flatMap((bundle) =>
      "output" in bundle ? bundle.output : [],
    );
    const code = outputs.map((chunk) => ("code" in chunk ? chunk.code : "")).join("\n");
    expect(code).toContain("room:join");
    // What Vite puts in place of a Node.js built-in module in a browser bundle.
    expect(code).not.toContain("__vite-browser-external");
  });

  describe("a bot run by node against two node processes", () => {
    let cluster: ProcessCluster;
    let bot: Bot | undefined;

    beforeAll(async () => {
      cluster = await startProcessCluster({ nodes: 2 });
    });
    afterAll(async () => {
      bot?.kill();
      closeAllClients();
      await cluster.close();
    });

    it("joins, sends, receives, and after its node restarts resumes with what it missed, once each", async () => {
      const room = "package-lobby";
      const user = "package-bot";
      // The bot knows node 0 alone; alice is on node 1, which stays up.
      const alice = await connected(cluster.urls[1]!, "alice");
      await ok(alice, "room:join", { room });
      await ok(alice, "room:send", { room, text: "before the bot" });

      const hello = next(alice, "room:message", (m) => m.from === user);
      bot = new Bot(project, {
        ROOMCAST_URLS: cluster.urls[0]!,
        ROOMCAST_USER: user,
        ROOMCAST_KEY: randomBytes(16).toString("hex"),
        ROOMCAST_ROOM: room,
      });
      expect((await bot.until("joined")).members).toEqual(["alice", user]);
      expect((await hello).text).toBe("hello from the bot");
      await bot.until("message", (line) => line.text === "before the bot");

      await ok(alice, "room:send", { room, text: "live" });
      await bot.until("message", (line) => line.text === "live");

      // Its node dies: while it is down, nothing can reach the bot but the room's log.
      await cluster.kill(0);
      await bot.until("state", (line) => line.state === "reconnecting");
      for (const text of ["missed 1", "missed 2", "missed 3"]) await ok(alice, "room:send", { room, text });
      await cluster.restart(0);
      await bot.until("message", (line) => line.text === "missed 3");

      // It sends again once back: it answers an echo.
      const echoed = next(alice, "room:message", (m) => m.from === user && m.text === "echoed after the restart");
      await ok(alice, "room:send", { room, text: "echo after the restart" });
      await echoed;
      await bot.until("sent", (line) => line.text === "echoed after the restart");

      expect(await bot.stop()).toBe(0);
      expect(bot.all("closed")).toEqual([{ event: "closed", state: "closed" }]);

      const messages = bot.all("message");
      expect(messages.map((line) => line.text)).toEqual([
        "before the bot",
        "hello from the bot",
        "live",
        "missed 1",
        "missed 2",
        "missed 3",
        "echo after the restart",
        "echoed after the restart",
      ]);
      // Each once, in the log's order, with nothing skipped: every message follows the one before.
      expect(messages.map((line) => line.prev)).toEqual(["", ...messages.slice(0, -1).map((line) => line.id)]);
      expect(bot.all("reset")).toEqual([]);
      expect([...bot.all("error"), ...bot.all("failed")]).toEqual([]);
      const states = bot.all("state").map((line) => line.state);
      expect(states).toEqual(["connecting", "connected", "reconnecting", "connected", "closed"]);
    });
  });
});
