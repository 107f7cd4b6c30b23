// Preloaded (`node --import`) into every server process the benchmark starts: roomcast, stock and
// raw-ws alike, so each is measured the same way without changing its code.
//
// - Over the IPC channel, `{ type: "bench:memory", id }` forces full garbage collections (the
//   process runs with --expose-gc) and answers `process.memoryUsage()`.
// - `{ type: "bench:cpu", id }` answers `process.cpuUsage()`: user and system CPU of the whole
//   process (every thread), in microseconds. /proc/<pid>/stat counts in 10 ms ticks, too coarse for
//   a window of a few seconds.
// - When the IPC channel closes (the benchmark died without stopping it), the process stops itself
//   with SIGTERM, so no server outlives the benchmark.
// Every answer carries the request's `type` and `id`. Plain JavaScript: roomcast runs from its
// compiled output, without a TypeScript loader.

/** @type {Record<string, () => object>} */
const answers = {
  "bench:memory": () => {
    const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
    // Several passes: a first full GC may only make more objects collectable (weak refs, finalizers).
    if (gc) for (let pass = 0; pass < 3; pass++) gc();
    return { gc: gc !== undefined, ...process.memoryUsage() };
  },
  "bench:cpu": () => process.cpuUsage(),
};

if (typeof process.send === "function") {
  process.on("message", (/** @type {{ type?: unknown, id?: unknown } | null} */ message) => {
    if (typeof message !== "object" || message === null || typeof message.type !== "string") return;
    const answer = Object.hasOwn(answers, message.type) ? answers[message.type] : undefined;
    if (answer) process.send?.({ type: message.type, id: message.id, ...answer() });
  });
  process.on("disconnect", () => {
    process.kill(process.pid, "SIGTERM");
    setTimeout(() => process.exit(1), 5000).unref();
  });
  // The channel must not keep a server alive that would otherwise exit.
  process.channel?.unref();
}
