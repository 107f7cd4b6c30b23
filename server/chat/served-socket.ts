import type { Admitted } from "./admission.js";
import type { Identity } from "./identity.js";
import type { TokenExpiry } from "./token-expiry.js";

const nothing = (): undefined => undefined;
const settled: Promise<unknown> = Promise.resolve();
const NO_ROOMS: readonly string[] = [];

/**
 * What serving one socket keeps between its events, and nothing more: the handlers are shared by
 * every socket, so an idle connection costs this object and what Socket.IO itself holds. It is
 * the socket's `Admitted` entry too (its identity and counted address).
 */
export class ServedSocket {
  /** Requests of this socket not answered yet. */
  pending = 0;
  /**
   * The chatrooms joined, replaced (never changed in place) at each join and leave: an array of
   * exactly its rooms is the smallest thing to keep for the one or few rooms a connection is in (a
   * Set costs about 100 bytes more), and joins and leaves are rare. Lookups scan it: at most
   * ROOMS_PER_SOCKET rooms.
   */
  private joined: readonly string[] = NO_ROOMS;
  /** The last membership change: the next one starts after it. */
  private membership = settled;

  readonly identity: Identity;
  /** The address counted for the socket ("" when none was), released when it goes. */
  readonly address: string;

  constructor(
    { identity, address }: Admitted,
    readonly expiry: TokenExpiry | undefined,
  ) {
    this.identity = identity;
    this.address = address;
  }

  /**
   * Runs membership changes one at a time, so that a disconnect never overtakes a join and the
   * presence counts stay exact.
   */
  serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.membership.then(work);
    // The chain keeps no result: a join's answer (its members, its history) would stay as long as
    // the socket. Once it is idle, it is the one settled promise all sockets share.
    const last = result.then(nothing, nothing);
    this.membership = last;
    void last.then(() => {
      if (this.membership === last) this.membership = settled;
    });
    return result;
  }

  has(room: string): boolean {
    return this.joined.includes(room);
  }

  /** How many chatrooms the socket is in. */
  get roomCount(): number {
    return this.joined.length;
  }

  /** The chatrooms the socket is in: a list that joining and leaving replace, never change. */
  rooms(): readonly string[] {
    return this.joined;
  }

  join(room: string): void {
    if (!this.has(room)) this.joined = [...this.joined, room];
  }

  leave(room: string): void {
    if (!this.has(room)) return;
    const rest = this.joined.filter((joined) => joined !== room);
    this.joined = rest.length > 0 ? rest : NO_ROOMS;
  }
}
