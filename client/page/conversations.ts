import type { SavedScroll } from "./scroll.js";
import { Timeline } from "./timeline.js";
import { TypingSender, TypingTracker } from "./typing.js";

/** What the page keeps of any conversation, room or direct. */
abstract class BaseConversation {
  readonly timeline: Timeline;
  /** Messages from others that arrived while the conversation was not on screen. */
  unread = 0;
  /** Where the reader was when they went elsewhere. */
  scroll: SavedScroll | undefined;
  /** What they had typed here then. */
  draft = "";

  constructor(me: string, label: string, retry: (text: string) => void) {
    this.timeline = new Timeline({ me, label, onRetry: retry });
  }

  abstract get title(): string;
}

/** A room the user has joined. Its members are the SDK's to keep (`members(room)`). */
export class RoomConversation extends BaseConversation {
  readonly kind = "room";
  readonly typing: TypingTracker;
  readonly typingSender: TypingSender;
  /** True once history reaches back to the room's first message. */
  historyDone = false;
  loadingOlder = false;

  constructor(
    readonly name: string,
    me: string,
    hooks: { onTypingChange(): void; sendTyping(typing: boolean): void; retry(text: string): void },
  ) {
    super(me, `Messages in ${name}`, hooks.retry);
    this.typing = new TypingTracker(hooks.onTypingChange);
    this.typingSender = new TypingSender(hooks.sendTyping);
  }

  get title(): string {
    return `# ${this.name}`;
  }
}

/** A one-to-one conversation; the page holds what arrived since sign-in. */
export class DirectConversation extends BaseConversation {
  readonly kind = "dm";
  /** Whether the page already said that the other person is offline. */
  toldOffline = false;

  constructor(
    readonly user: string,
    me: string,
    retry: (text: string) => void,
  ) {
    super(me, `Direct messages with ${user}`, retry);
  }

  get title(): string {
    return this.user;
  }
}

export type Conversation = RoomConversation | DirectConversation;
