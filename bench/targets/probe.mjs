// Preloaded (`node --import`) into every server process the benchmark starts: roomcast, stock and
// raw-ws alike, so each is measured the same way without changing its code.
//
// - Over the IPC channel, `{ type: "bench:memory" }` forces full garbage collections (the process
//   runs with --expose-gc) and answers `process.memoryUsage()`.
// - When the IPC channel closes (the benchmark died without stopping it), the process stops itself
//   with SIGTERM, so no server outlives the benchmark.
// Plain JavaScript: roomcast runs from its compiled output, without a TypeScript loader.

if (typeof process.send === "function") {
  process.on("message", (/** @type {{ type?: unknown } | null} */ message) => {
    if (typeof message !== "object" || message === null || message.type !== "bench:memory") return;
    const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
    // Several passes: a first full GC may only make more objects collectable (weak refs, finalizers).
    if (gc) for (let pass = 0; pass < 3; pass++) gc();
    const usage = process.memoryUsage();
    process.send?.({ type: "bench:memory", gc: gc !== undefined, ...usage });
  });
  process.on("disconnect", () => {
    process.kill(process.pid, "SIGTERM");
    setTimeout(() => process.exit(1), 5000).unref();
  });
  // The channel must not keep a server alive that would otherwise exit.
  process.channel?.unref();
}
