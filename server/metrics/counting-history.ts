import type { History } from "../history/history.js";
import type { Tallies } from "./tallies.js";

/**
 * A History that counts the messages appended to room logs (`room:…`) and DM conversation logs
 * (`dm:…`); a repeated clientId stores nothing and is not counted, and the copies a DM leaves in
 * its users' feeds are the same DM. Everything else passes through.
 */
export class CountingHistory implements History {
  constructor(
    private readonly history: History,
    private readonly tallies: Tallies,
  ) {}

  append(...args: Parameters<History["append"]>): ReturnType<History["append"]> {
    const log = args[0];
    const counter = log.startsWith("room:") ? "roomMessages" : log.startsWith("dm:") ? "directMessages" : undefined;
    const appended = this.history.append(...args);
    if (counter === undefined) return appended;
    return appended.then((result) => {
      if (!result.duplicate) this.tallies[counter] += 1;
      return result;
    });
  }

  latest(...args: Parameters<History["latest"]>): ReturnType<History["latest"]> {
    return this.history.latest(...args);
  }

  after(...args: Parameters<History["after"]>): ReturnType<History["after"]> {
    return this.history.after(...args);
  }

  before(...args: Parameters<History["before"]>): ReturnType<History["before"]> {
    return this.history.before(...args);
  }

  delete(...args: Parameters<History["delete"]>): ReturnType<History["delete"]> {
    return this.history.delete(...args);
  }

  close(): Promise<void> {
    return this.history.close();
  }
}
