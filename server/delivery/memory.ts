import type { LocalDelivery, UserDelivery, UserEvent } from "./delivery.js";

/** One node: every socket of a user is here, so an event is handed to them directly. */
export class MemoryUserDelivery implements UserDelivery {
  private local: LocalDelivery | undefined;

  async start(local: LocalDelivery): Promise<void> {
    this.local = local;
  }

  async deliver(user: string, event: UserEvent): Promise<void> {
    this.local?.(user, event);
  }

  async close(): Promise<void> {
    this.local = undefined;
  }
}
