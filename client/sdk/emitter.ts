/** A listener of one event: gets its payload. */
export type Listener<T> = (payload: T) => void;

interface Registration {
  listener: Listener<never>;
  once: boolean;
}

/**
 * A tiny typed event emitter: `Events` maps each event name to its payload type.
 *
 * A listener that throws does not disturb the emitter or the other listeners: the error is
 * rethrown on its own (in a microtask), where the runtime reports it as uncaught.
 *
 * @example
 * class Clock extends TypedEmitter<{ tick: number }> {
 *   start() { setInterval(() => this.emit("tick", Date.now()), 1000); }
 * }
 * new Clock().on("tick", (ms) => console.log(ms));
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Registration[]>();

  /**
   * Calls `listener` on every `event`. Returns a function that removes it.
   *
   * @example
   * const stop = client.on("message", (m) => render(m));
   * stop(); // no more messages
   */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    return this.#add(event, listener, false);
  }

  /**
   * Calls `listener` on the next `event` only. Returns a function that removes it.
   *
   * @example
   * client.once("state", (state) => console.log("first change:", state));
   */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    return this.#add(event, listener, true);
  }

  /**
   * Removes `listener` from `event` (also one added with `once`).
   *
   * @example
   * client.off("message", render);
   */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const registrations = this.#listeners.get(event);
    if (!registrations) return;
    const index = registrations.findIndex((registration) => registration.listener === listener);
    if (index >= 0) registrations.splice(index, 1);
    if (registrations.length === 0) this.#listeners.delete(event);
  }

  /** Calls the listeners of `event` with `payload`, in the order they were added. */
  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const registrations = this.#listeners.get(event);
    if (!registrations) return;
    for (const registration of [...registrations]) {
      if (registration.once) this.off(event, registration.listener as Listener<Events[K]>);
      try {
        (registration.listener as Listener<Events[K]>)(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #add<K extends keyof Events>(event: K, listener: Listener<Events[K]>, once: boolean): () => void {
    const registrations = this.#listeners.get(event) ?? [];
    registrations.push({ listener: listener as Listener<never>, once });
    this.#listeners.set(event, registrations);
    return () => this.off(event, listener);
  }
}
