import { listNames } from "./format.js";

/** A "typing" that is not renewed within this long is dropped (its "stopped" may have been lost). */
const TYPING_TTL_MS = 6000;
/** The sender renews "typing" this often while the person keeps typing. */
const RENEW_MS = 2500;
/** After this long without a keystroke, the sender says the person stopped. */
const IDLE_MS = 3000;

/** Who is typing in one room, from the `typing` events of others. */
export class TypingTracker {
  private readonly expiries = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly onChange: () => void) {}

  update(user: string, typing: boolean): void {
    const wasTyping = this.expiries.has(user);
    clearTimeout(this.expiries.get(user));
    this.expiries.delete(user);
    if (typing)
      this.expiries.set(
        user,
        setTimeout(() => this.update(user, false), TYPING_TTL_MS),
      );
    if (wasTyping !== typing) this.onChange();
  }

  users(): string[] {
    return [...this.expiries.keys()].sort();
  }

  clear(): void {
    for (const timer of this.expiries.values()) clearTimeout(timer);
    const had = this.expiries.size > 0;
    this.expiries.clear();
    if (had) this.onChange();
  }
}

/** "ann is typing…", "ann and bob are typing…", or "" when nobody is. */
export function typingText(users: readonly string[]): string {
  if (users.length === 0) return "";
  if (users.length > 3) return "Several people are typing…";
  return `${listNames(users)} ${users.length === 1 ? "is" : "are"} typing…`;
}

/**
 * Turns keystrokes into few `typing` events: "typing" on the first, renewed while typing goes on,
 * and "stopped" after a pause, on send, or when the person leaves the room.
 */
export class TypingSender {
  private typing = false;
  private lastSent = 0;
  private idle: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly send: (typing: boolean) => void) {}

  keystroke(): void {
    const now = Date.now();
    if (!this.typing || now - this.lastSent >= RENEW_MS) {
      this.typing = true;
      this.lastSent = now;
      this.send(true);
    }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop(), IDLE_MS);
  }

  stop(): void {
    clearTimeout(this.idle);
    this.idle = undefined;
    if (!this.typing) return;
    this.typing = false;
    this.send(false);
  }
}
