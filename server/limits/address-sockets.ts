/**
 * Counts the open sockets of each client address, so that one address cannot hold a node's (or
 * the cluster's) every file descriptor.
 */
export interface AddressSockets {
  /** Counts one more socket of `address`, unless it already has `max`: then false, nothing counted. */
  acquire(address: string, max: number): Promise<boolean>;
  /** One socket of `address` closed. */
  release(address: string): Promise<void>;
  /** Starts background work (the Redis count's liveness beat). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The embedded node's count, in memory. */
export class MemoryAddressSockets implements AddressSockets {
  private readonly counts = new Map<string, number>();

  async acquire(address: string, max: number): Promise<boolean> {
    const count = this.counts.get(address) ?? 0;
    if (count >= max) return false;
    this.counts.set(address, count + 1);
    return true;
  }

  async release(address: string): Promise<void> {
    const count = (this.counts.get(address) ?? 0) - 1;
    if (count > 0) this.counts.set(address, count);
    else this.counts.delete(address);
  }

  /** Sockets counted for `address` (tests). */
  countOf(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  async start(): Promise<void> {}
  async close(): Promise<void> {}
}
