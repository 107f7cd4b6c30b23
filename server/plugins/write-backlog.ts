/** What tells whether bytes wait in a TCP socket: what it holds that the kernel has not taken. */
interface BufferedSocket {
  readonly writableLength: number;
}

/**
 * The engine.io connections that may have bytes waiting to be written to them, so that the
 * backpressure looks at those only instead of at every connection each time: a WebSocket whose
 * TCP socket kept bytes after a write (the kernel took less than it was given), and every
 * long-polling connection, whose packets wait in engine.io's queue until the client polls.
 *
 * A WebSocket is only ever written through engine.io's flush, which the tick cork corks, or the
 * broadcast fast path; both note here what the kernel did not take. Whoever looks forgets the
 * connections that have nothing waiting any more.
 */
export class WriteBacklog<Connection extends object = object> {
  private readonly connections = new Set<Connection>();
  private overflowBytes = Infinity;
  private onOverflow: (connection: Connection) => void = () => undefined;

  /**
   * Calls `handler` with each connection whose TCP socket holds more than `bytes` after a write,
   * at that write: the cap is then kept within a tick, not within a scan's interval. The handler
   * runs inside the write (a broadcast's loop over its recipients), so it must not close anything.
   */
  watchOverflow(bytes: number, handler: (connection: Connection) => void): void {
    this.overflowBytes = bytes;
    this.onOverflow = handler;
  }

  /** Notes `connection` when its TCP socket still holds bytes after a write. */
  noteIfWaiting(tcp: BufferedSocket, connection: Connection): void {
    const waiting = tcp.writableLength;
    if (waiting === 0) return;
    this.connections.add(connection);
    if (waiting > this.overflowBytes) this.onOverflow(connection);
  }

  /** Notes `connection` as one to look at until it is forgotten. */
  add(connection: Connection): void {
    this.connections.add(connection);
  }

  forget(connection: Connection): void {
    this.connections.delete(connection);
  }

  /** The connections noted; forgetting one while iterating is safe (a Set's iteration). */
  [Symbol.iterator](): IterableIterator<Connection> {
    return this.connections.values();
  }

  get size(): number {
    return this.connections.size;
  }
}
