import { LIMITS, type ChatMessage, type DirectMessage, type Notice, type RoomPresence } from "roomcast-client";
import type { ConnectionState, PageClient } from "./client.js";
import { DirectConversation, RoomConversation, type Conversation } from "./conversations.js";
import { avatar, byId, h, setChildren } from "./dom.js";
import { reasonOf } from "./format.js";
import { browserKey, linkToken, userName, type AuthMode, type Identity, type TokenKeeper } from "./identity.js";
import { directList, memberList, roomList } from "./lists.js";
import { OutboxStore, type SavedSend } from "./outbox-store.js";
import { SeenDirect } from "./dm-seen.js";
import { parseRoute, routeHash, type Route } from "./routes.js";
import { ScrollKeeper } from "./scroll.js";
import { typingText } from "./typing.js";

/** How often the room list is refreshed while connected (presence events update it in between). */
const ROOMS_REFRESH_MS = 15_000;
/** How long a toast stays. */
const TOAST_MS = 6000;
const REMEMBERED_NAME = "roomcast.name";
/** After this long without a connection, the sign-in form says it is still trying. */
const SLOW_SIGN_IN_MS = 4000;
/** What the server answers a name that another browser claimed (open mode). */
const NAME_TAKEN = "that name is taken";

/** What the sign-in screen says before the name form, in each mode. */
const LEAD = {
  open: "Pick a name to start. No account, no password: this browser keeps your name for you.",
  signingIn: "Signing you in…",
  needsLink: "This server needs a sign-in link. Open the chat from the link you were given.",
  signedOut: "You signed out. To come back, open your sign-in link again.",
} as const;

/** How the page signs people in, as `main.ts` gives it. */
export interface SignInSetup {
  /** The server's answer to `GET /auth/mode`; undefined when it could not tell. */
  mode: Promise<AuthMode | undefined>;
  /** Token mode's token, taken from a sign-in link (`#token=…`) or kept from before a reload. */
  tokens: TokenKeeper;
}

/** What the banner says in each connection state; connected and closed show no banner. */
const BANNER: Partial<Record<ConnectionState, { text: string; tone: string }>> = {
  idle: { text: "Connecting…", tone: "info" },
  connecting: { text: "Connecting…", tone: "info" },
  reconnecting: {
    text: "Connection lost. Reconnecting… Messages you send now are delivered when it is back.",
    tone: "warn",
  },
  offline: { text: "Disconnected by the server. Messages you send now wait until you reconnect.", tone: "error" },
};

/** On phones one pane shows at a time: the room list, the conversation, or the members. */
type Pane = "nav" | "conversation" | "members";

/**
 * The chat page: sign-in, the room and DM lists, one open conversation, and its members. It talks
 * to the server only through the SDK client, and writes every name and message as text.
 */
export class ChatApp {
  private client: PageClient | undefined;
  /** Where the signed-in user's unsent messages are kept across reloads. */
  private outbox: OutboxStore | undefined;
  /** The DMs this browser showed before (a reload brings them again from the user's DM feed). */
  private seenDirect: SeenDirect | undefined;
  /** Open until the server said otherwise. */
  private mode: AuthMode = "open";
  /** Whether `GET /auth/mode` answered (or gave up): until then no way in is shown. */
  private modeKnown = false;
  private tokens: TokenKeeper | undefined;
  /** The user's name (as the server normalizes it), set from the start of a sign-in. */
  private me = "";
  private signedIn = false;
  private readonly rooms = new Map<string, RoomConversation>();
  private readonly directs = new Map<string, DirectConversation>();
  /** Member counts of every room with members, from `rooms()` and presence events. */
  private readonly directory = new Map<string, number>();
  /** Rooms whose join is on its way, by name. */
  private readonly joining = new Map<string, { room: RoomConversation; done: Promise<RoomConversation | undefined> }>();
  /** Errors the page showed already (beside a failed message), so the `error` event skips them. */
  private readonly shown = new WeakSet<object>();
  private current: Conversation | undefined;
  private wasDisconnected = false;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;

  private readonly el = {
    signin: byId("signin", HTMLDivElement),
    signinLead: byId("signin-lead", HTMLParagraphElement),
    signinNotice: byId("signin-notice", HTMLParagraphElement),
    signinForm: byId("signin-form", HTMLFormElement),
    signinName: byId("signin-name", HTMLInputElement),
    signinError: byId("signin-error", HTMLParagraphElement),
    signinButton: byId("signin-button", HTMLButtonElement),
    chat: byId("chat", HTMLDivElement),
    navToggle: byId("nav-toggle", HTMLButtonElement),
    navUnread: byId("nav-unread", HTMLSpanElement),
    meAvatar: byId("me-avatar", HTMLSpanElement),
    meName: byId("me-name", HTMLElement),
    signout: byId("signout", HTMLButtonElement),
    banner: byId("banner", HTMLDivElement),
    bannerText: byId("banner-text", HTMLSpanElement),
    reconnect: byId("reconnect", HTMLButtonElement),
    joinForm: byId("join-form", HTMLFormElement),
    joinRoom: byId("join-room", HTMLInputElement),
    joinError: byId("join-error", HTMLParagraphElement),
    roomList: byId("room-list", HTMLUListElement),
    roomsEmpty: byId("rooms-empty", HTMLParagraphElement),
    dmList: byId("dm-list", HTMLUListElement),
    dmsEmpty: byId("dms-empty", HTMLParagraphElement),
    welcome: byId("welcome", HTMLElement),
    welcomeTitle: byId("welcome-title", HTMLHeadingElement),
    view: byId("view", HTMLElement),
    viewAvatar: byId("view-avatar", HTMLSpanElement),
    viewTitle: byId("view-title", HTMLHeadingElement),
    viewSubtitle: byId("view-subtitle", HTMLParagraphElement),
    membersToggle: byId("members-toggle", HTMLButtonElement),
    leave: byId("leave", HTMLButtonElement),
    scroller: byId("scroller", HTMLDivElement),
    loadOlder: byId("load-older", HTMLButtonElement),
    historyStart: byId("history-start", HTMLParagraphElement),
    timelineSlot: byId("timeline-slot", HTMLDivElement),
    jump: byId("jump", HTMLButtonElement),
    typing: byId("typing", HTMLParagraphElement),
    composer: byId("composer", HTMLFormElement),
    message: byId("message", HTMLTextAreaElement),
    members: byId("members", HTMLElement),
    memberCount: byId("member-count", HTMLSpanElement),
    membersClose: byId("members-close", HTMLButtonElement),
    memberList: byId("member-list", HTMLUListElement),
    toasts: byId("toasts", HTMLDivElement),
  };

  private readonly keeper = new ScrollKeeper(this.el.scroller, this.el.jump, [
    this.el.timelineSlot,
    this.el.loadOlder.parentElement ?? this.el.loadOlder,
  ]);
  private readonly roomItems = roomList(this.el.roomList, (room) => this.navigate({ kind: "room", name: room }));
  private readonly directItems = directList(this.el.dmList, (user) => this.navigate({ kind: "dm", user }));
  private readonly memberItems = memberList(this.el.memberList, (user) => this.navigate({ kind: "dm", user }));

  constructor(
    private readonly urls: string[],
    private readonly createClient: (urls: string[], identity: Identity) => PageClient,
  ) {}

  /**
   * Wires the page up, then, once the server said how it admits people, shows the name form
   * (open mode) or signs in with the sign-in link's token (token mode).
   */
  start(setup: SignInSetup): void {
    const { el } = this;
    this.tokens = setup.tokens;
    el.signinName.value = localStorage.getItem(REMEMBERED_NAME) ?? "";
    el.signinForm.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.signInWithName(el.signinName.value.trim());
    });
    el.signinName.addEventListener("input", () => el.signinName.removeAttribute("aria-invalid"));
    el.signout.addEventListener("click", () => this.signOut());
    el.reconnect.addEventListener("click", () => {
      this.client?.connect().catch((error: unknown) => this.toast(`Couldn't reconnect: ${reasonOf(error)}`));
    });
    el.joinForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = el.joinRoom.value.trim();
      if (name === "") {
        el.joinError.textContent = "Type the name of a room to join or create.";
        return;
      }
      this.navigate({ kind: "room", name });
    });
    el.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendFromComposer();
    });
    el.message.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter starts a new line; an input method composing text keeps Enter.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        el.composer.requestSubmit();
      }
    });
    el.message.addEventListener("input", () => {
      if (this.current?.kind === "room" && el.message.value !== "") this.current.typingSender.keystroke();
    });
    el.message.addEventListener("blur", () => {
      if (this.current?.kind === "room") this.current.typingSender.stop();
    });
    el.loadOlder.addEventListener("click", () => void this.loadOlder());
    el.leave.addEventListener("click", () => void this.leaveCurrent());
    el.navToggle.addEventListener("click", () =>
      this.setPane(this.pane() === "nav" && this.current ? "conversation" : "nav"),
    );
    el.membersToggle.addEventListener("click", () =>
      this.setPane(this.pane() === "members" ? "conversation" : "members"),
    );
    el.membersClose.addEventListener("click", () => {
      this.setPane("conversation");
      el.membersToggle.focus();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.current && this.pane() !== "conversation") this.setPane("conversation");
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.markRead();
    });
    window.addEventListener("hashchange", () => {
      if (linkToken(location.hash) !== undefined) void this.followLink();
      else void this.route(parseRoute(location.hash));
    });
    void this.chooseSignIn(setup.mode);
  }

  // ---- Signing in and out ----

  /** Shows the way in that the server's mode asks for. */
  private async chooseSignIn(modeAnswer: Promise<AuthMode | undefined>): Promise<void> {
    // Without an answer, a token from a link means token mode; else the server's default, open.
    const mode = (await modeAnswer) ?? (this.tokens?.token !== undefined ? "token" : "open");
    this.mode = mode;
    this.modeKnown = true;
    if (mode === "open") {
      // A sign-in link means nothing here: names are picked, not given.
      this.tokens?.forget();
      this.showSignIn();
      return;
    }
    const token = this.tokens?.token;
    if (token === undefined) return this.showSignIn(LEAD.needsLink);
    this.showSignIn(LEAD.signingIn);
    await this.signIn({ token });
  }

  /** A sign-in link opened in a tab that shows the page already: signs in with its token. */
  private async followLink(): Promise<void> {
    this.tokens?.takeFromLink(location, history);
    // Until the mode is known, `chooseSignIn` is still to read the token.
    if (!this.modeKnown) return;
    const token = this.tokens?.token;
    if (this.mode !== "token") {
      this.tokens?.forget();
      return;
    }
    if (token === undefined) return;
    if (this.client) this.signOut(false);
    this.showSignIn(LEAD.signingIn);
    await this.signIn({ token });
  }

  /**
   * The sign-in screen: the name form in open mode; in token mode only `lead`, which says why
   * there is no form, and `notice` (read out as an alert) when a token was refused.
   */
  private showSignIn(lead?: string, notice = ""): void {
    const { el } = this;
    const open = this.mode === "open";
    el.chat.hidden = true;
    el.signin.hidden = false;
    el.signinForm.hidden = !open;
    el.signinLead.textContent = open ? LEAD.open : (lead ?? LEAD.needsLink);
    el.signinNotice.textContent = notice;
    if (open) el.signinName.focus();
    else if (lead !== LEAD.signingIn) el.signinLead.focus();
  }

  private async signInWithName(name: string): Promise<void> {
    const { el } = this;
    if (this.mode !== "open") return;
    if (name === "") {
      el.signinError.textContent = "Type a name to sign in.";
      el.signinName.setAttribute("aria-invalid", "true");
      return;
    }
    el.signinName.removeAttribute("aria-invalid");
    el.signinButton.textContent = "Signing in…";
    await this.signIn({ user: name, key: browserKey() });
  }

  /** Where the sign-in screen says what went wrong: under the name, or, without a form, on the card. */
  private signInProblem(text: string): void {
    (this.mode === "open" ? this.el.signinError : this.el.signinNotice).textContent = text;
  }

  private async signIn(identity: Identity): Promise<void> {
    const { el } = this;
    this.signInProblem("");
    // Submitting again (say, with another name) gives up the attempt still under way.
    void this.client?.close();
    const client = this.createClient(this.urls, identity);
    this.client = client;
    // Held direct messages may arrive as soon as the connection is up. (In token mode the user is
    // the token's `sub`.)
    this.me = userName(client.user);
    this.outbox = new OutboxStore(this.urls.join(" "), this.me);
    this.seenDirect = new SeenDirect(this.urls.join(" "), this.me);
    this.listen(client);
    const slow = setTimeout(() => {
      if (this.client === client) this.signInProblem("Still trying to reach the chat server…");
    }, SLOW_SIGN_IN_MS);
    try {
      await client.connect();
    } catch (error) {
      if (this.client !== client) return;
      this.client = undefined;
      void client.close();
      this.refused(identity, error);
      return;
    } finally {
      clearTimeout(slow);
      if (this.client === client || this.client === undefined) el.signinButton.textContent = "Sign in";
    }
    if (this.client !== client) return;
    // Before the chat shows, so that what was written before a reload goes out before anything new.
    await this.resendSaved(client);
    if (this.client !== client) return;
    this.signInProblem("");
    this.signedIn = true;
    if (this.mode === "open") localStorage.setItem(REMEMBERED_NAME, this.me);
    setChildren(el.meAvatar, avatar(this.me));
    el.meName.textContent = this.me;
    el.welcomeTitle.textContent = `Welcome, ${this.me}`;
    el.signin.hidden = true;
    el.chat.hidden = false;
    this.showBanner(client.state);
    this.refreshTimer = setInterval(() => void this.refreshRooms(), ROOMS_REFRESH_MS);
    void this.refreshRooms();
    const route = parseRoute(location.hash);
    if (route.kind === "home") {
      this.show(undefined);
      el.joinRoom.focus();
    } else {
      await this.route(route);
    }
  }

  /** Says on the sign-in screen why the server refused the sign-in. */
  private refused(identity: Identity, error: unknown): void {
    const reason = reasonOf(error);
    if ("token" in identity) {
      // The same token would be refused again after a reload: only a new link helps.
      if (codeOf(error) === "unauthorized") this.tokens?.forget();
      const notice = `Couldn't sign you in: ${reason}. Open your sign-in link again, or ask for a new one.`;
      this.showSignIn(LEAD.needsLink, notice);
      return;
    }
    const { el } = this;
    el.signinError.textContent =
      reason === NAME_TAKEN
        ? `The name “${identity.user}” is taken: another browser signed in with it first. Pick another name.`
        : `Couldn't sign in as “${identity.user}”: ${reason}`;
    el.signinName.setAttribute("aria-invalid", "true");
    el.signinName.focus();
  }

  /**
   * The server refused to let the client back in after a dropped connection (an expired token,
   * or a name claimed meanwhile): back to the sign-in screen, saying why.
   */
  private signedOutByServer(reason: string): void {
    const name = this.me;
    this.signOut(false);
    if (this.mode === "token") {
      this.tokens?.forget();
      const notice = `Your sign-in has ended: ${reason}. Open your sign-in link again, or ask for a new one.`;
      this.showSignIn(LEAD.needsLink, notice);
    } else {
      this.showSignIn();
      this.el.signinError.textContent = `You were signed out of “${name}”: ${reason}.`;
    }
  }

  private signOut(byPerson = true): void {
    const client = this.client;
    this.client = undefined;
    // What is still unsent stays kept: it goes out at the user's next sign-in in this browser.
    this.outbox = undefined;
    this.seenDirect = undefined;
    this.me = "";
    this.signedIn = false;
    void client?.close();
    clearInterval(this.refreshTimer);
    for (const room of this.rooms.values()) {
      room.typing.clear();
      room.typingSender.stop();
    }
    this.rooms.clear();
    this.directs.clear();
    this.directory.clear();
    this.joining.clear();
    this.current = undefined;
    setChildren(this.el.timelineSlot);
    this.render();
    history.replaceState(null, "", location.pathname + location.search);
    if (!byPerson) return;
    if (this.mode === "token") {
      // Signing out ends the link's session in this tab too: a reload must not sign in again.
      this.tokens?.forget();
      this.showSignIn(LEAD.signedOut);
    } else {
      this.showSignIn();
    }
  }

  // ---- SDK events ----

  private listen(client: PageClient): void {
    // Events of a client that was signed out (or failed to sign in) are ignored.
    const mine =
      <T>(handler: (payload: T) => void) =>
      (payload: T) => {
        if (this.client === client) handler(payload);
      };
    client.on(
      "state",
      mine((state) => this.onState(state)),
    );
    client.on(
      "message",
      mine((message) => this.onMessage(message)),
    );
    client.on(
      "dm",
      mine((message) => this.onDirect(message)),
    );
    client.on(
      "presence",
      mine((presence) => this.onPresence(presence)),
    );
    client.on(
      "typing",
      mine(({ room, user, typing }) => this.rooms.get(room)?.typing.update(user, typing)),
    );
    client.on(
      "notice",
      mine((notice) => this.onNotice(notice)),
    );
    client.on(
      "pending",
      mine((pending) => this.outbox?.save(pending)),
    );
    client.on(
      "reset",
      mine(({ room }) => this.onReset(room)),
    );
    client.on(
      "deleted",
      mine(({ room, id }) => this.rooms.get(room)?.timeline.markDeleted(id)),
    );
    client.on(
      "dmReset",
      mine(() => this.toast("Some direct messages were missed while the connection was down.")),
    );
    client.on(
      "error",
      mine((error) => {
        // A reconnect refused for good (the SDK went offline): the session is over.
        if (this.signedIn && error.code === "unauthorized" && client.state === "offline") {
          this.signedOutByServer(reasonOf(error));
          return;
        }
        // A failed send or join also rejects its promise, which the page shows where it happened;
        // the rejection is handled a moment after this event.
        setTimeout(() => {
          if (this.signedIn && !this.shown.has(error)) this.toast(reasonOf(error));
        });
      }),
    );
  }

  private onState(state: ConnectionState): void {
    this.showBanner(state);
    const connected = state === "connected";
    for (const conversation of this.conversations()) conversation.timeline.setConnected(connected);
    if (!connected) {
      if (state === "reconnecting" || state === "offline") this.wasDisconnected = true;
      return;
    }
    if (this.wasDisconnected) {
      this.wasDisconnected = false;
      void this.refreshRooms();
      this.redrawWhenRejoined();
    }
  }

  /**
   * After a reconnect the SDK joins every room again and learns its members anew, without an
   * event for it: a history request waits for that join, so the member lists are drawn after it.
   */
  private redrawWhenRejoined(): void {
    const client = this.client;
    for (const room of this.rooms.values()) {
      client?.history(room.name, { limit: 1 }).then(
        () => this.render(),
        () => {},
      );
    }
  }

  private onMessage(message: ChatMessage): void {
    const joined = this.rooms.get(message.room);
    // A room being joined gets its history as messages before the join resolves (not unread).
    const room = joined ?? this.joining.get(message.room)?.room;
    if (!room) return;
    room.typing.update(message.from, false);
    const added = room.timeline.add([message]);
    if (joined) this.countUnread(room, added.filter((entry) => entry.from !== this.me).length);
  }

  private onDirect(message: DirectMessage): void {
    const other = message.from === this.me ? message.to : message.from;
    const conversation = this.direct(other);
    if (message.from !== this.me) conversation.toldOffline = false;
    const added = conversation.timeline.add([message]);
    // DMs this browser showed before the reload come again from the feed: they are not unread.
    const isNew = this.seenDirect?.isNew(message) ?? true;
    if (isNew) this.countUnread(conversation, added.filter((entry) => entry.from !== this.me).length);
  }

  private onPresence({ room, user, event, members }: RoomPresence): void {
    this.directory.set(room, members);
    // The SDK keeps the member lists; the page reads them with `members(room)` when it draws.
    const conversation = this.rooms.get(room);
    if (conversation) {
      if (event === "leave") conversation.typing.update(user, false);
      if (user !== this.me) conversation.timeline.addNotice(`${user} ${event === "join" ? "joined" : "left"}`);
    }
    this.render();
  }

  private onNotice(notice: Notice): void {
    if (notice.room !== undefined) {
      this.rooms.get(notice.room)?.timeline.addNotice(notice.text, notice.ts);
      return;
    }
    for (const room of this.rooms.values()) room.timeline.addNotice(notice.text, notice.ts);
    this.toast(notice.text);
  }

  /** The room's log no longer reaches back to what the page showed: say that some were lost. */
  private onReset(name: string): void {
    this.rooms.get(name)?.timeline.addNotice("Some messages were missed here while the connection was down.");
  }

  // ---- Navigation ----

  /** Goes to a route through the address bar, so that back and forward work too. */
  private navigate(route: Route): void {
    const hash = routeHash(route);
    if (location.hash === hash) void this.route(route);
    else location.hash = hash;
  }

  private async route(route: Route): Promise<void> {
    if (!this.client) return;
    if (route.kind === "home") return this.show(undefined);
    if (route.kind === "dm") {
      if (route.user === this.me) return this.show(undefined);
      return this.show(this.direct(route.user), true);
    }
    const room = this.rooms.get(route.name.normalize("NFKC")) ?? (await this.join(route.name));
    // Another route may have been taken while the join was on its way.
    const now = parseRoute(location.hash);
    if (room && now.kind === "room" && now.name.normalize("NFKC") === room.name) this.show(room, true);
  }

  private async join(typed: string): Promise<RoomConversation | undefined> {
    const name = typed.normalize("NFKC");
    const running = this.joining.get(name);
    if (running) return running.done;
    const client = this.client;
    if (!client) return undefined;
    const room = this.makeRoom(name);
    const done = this.joinNow(client, room).finally(() => this.joining.delete(name));
    this.joining.set(name, { room, done });
    return done;
  }

  private async joinNow(client: PageClient, room: RoomConversation): Promise<RoomConversation | undefined> {
    this.el.joinError.textContent = "";
    try {
      const result = await client.join(room.name);
      if (this.client !== client) return undefined;
      this.rooms.set(room.name, room);
      // The Room field is cleared once it did its job; after a refusal it keeps the name to fix.
      if (this.el.joinRoom.value.trim().normalize("NFKC") === room.name) this.el.joinRoom.value = "";
      // The history came as messages already; adding it again changes nothing but the scroll.
      room.timeline.add(result.history, "reset");
      room.historyDone = result.history.length < LIMITS.defaultHistory;
      this.directory.set(room.name, Math.max(this.directory.get(room.name) ?? 0, result.members.length));
      this.render();
      return room;
    } catch (error) {
      if (this.client !== client) return undefined;
      this.shown.add(error as object);
      this.el.joinError.textContent = `Couldn't join “${room.name}”: ${reasonOf(error)}`;
      // The address named a room the user is not in: go back to where they were.
      const now = parseRoute(location.hash);
      if (now.kind === "room" && now.name.normalize("NFKC") === room.name) {
        const back: Route = this.current ? this.routeOf(this.current) : { kind: "home" };
        history.replaceState(null, "", routeHash(back));
        this.setPane("nav");
      }
      this.el.joinRoom.focus();
      this.el.joinRoom.select();
      return undefined;
    }
  }

  private makeRoom(name: string): RoomConversation {
    const room: RoomConversation = new RoomConversation(name, this.me, {
      onTypingChange: () => {
        if (this.current === room) this.renderTyping();
      },
      sendTyping: (typing) => {
        if (this.rooms.get(name) === room) this.client?.typing(name, typing);
      },
      retry: (text) => this.sendTo(room, text),
    });
    room.timeline.setConnected(this.client?.state === "connected");
    return room;
  }

  private direct(user: string): DirectConversation {
    let conversation = this.directs.get(user);
    if (!conversation) {
      const created: DirectConversation = new DirectConversation(user, this.me, (text) => this.sendTo(created, text));
      created.timeline.setConnected(this.client?.state === "connected");
      conversation = created;
      this.directs.set(user, conversation);
    }
    return conversation;
  }

  private routeOf(conversation: Conversation): Route {
    return conversation.kind === "room"
      ? { kind: "room", name: conversation.name }
      : { kind: "dm", user: conversation.user };
  }

  /** Opens a conversation in the main pane (or the welcome card for none). */
  private show(conversation: Conversation | undefined, focus = false): void {
    const { el } = this;
    const previous = this.current;
    if (previous && previous !== conversation) {
      previous.scroll = this.keeper.save();
      previous.timeline.attach(undefined);
      if (previous.kind === "room") previous.typingSender.stop();
      previous.draft = el.message.value;
    }
    this.current = conversation;
    el.welcome.hidden = conversation !== undefined;
    el.view.hidden = conversation === undefined;
    el.chat.classList.toggle("has-members", conversation?.kind === "room");
    if (!conversation) {
      this.setPane("nav");
      this.render();
      return;
    }
    if (previous !== conversation) {
      el.message.value = conversation.draft;
      setChildren(el.timelineSlot, conversation.timeline.list);
      conversation.timeline.attach(this.keeper);
      this.keeper.restore(conversation.scroll);
    }
    el.viewTitle.textContent = conversation.title;
    setChildren(el.viewAvatar, conversation.kind === "dm" ? avatar(conversation.user) : null);
    el.leave.hidden = conversation.kind !== "room";
    el.membersToggle.hidden = conversation.kind !== "room";
    el.message.placeholder =
      conversation.kind === "room" ? `Message # ${conversation.name}` : `Message ${conversation.user}`;
    this.setPane("conversation");
    this.markRead();
    this.render();
    // On touch screens focusing would pop up the keyboard over the messages.
    if (focus && !matchMedia("(pointer: coarse)").matches) el.message.focus();
  }

  private pane(): Pane {
    return (this.el.chat.dataset.pane as Pane | undefined) ?? "nav";
  }

  private setPane(pane: Pane): void {
    this.el.chat.dataset.pane = pane;
    this.el.navToggle.setAttribute("aria-expanded", String(pane === "nav"));
    this.el.membersToggle.setAttribute("aria-expanded", String(pane === "members"));
  }

  // ---- Actions ----

  private sendFromComposer(): void {
    const conversation = this.current;
    const text = this.el.message.value;
    if (!conversation || text.trim() === "") return;
    this.el.message.value = "";
    this.sendTo(conversation, text);
  }

  /**
   * Sends again, in their order and under their `clientId`s, the messages left unsent before a
   * reload (or in a closed tab): the rooms they were for are joined first (the SDK sends a room's
   * message once its join is answered), and each shows as pending until acknowledged.
   */
  private async resendSaved(client: PageClient): Promise<void> {
    await this.outbox?.adopt((saved) => {
      if (this.client !== client) return false;
      for (const entry of saved) {
        const conversation = entry.kind === "room" ? this.roomToResend(entry.room) : this.direct(entry.to);
        if (conversation) this.sendTo(conversation, entry.text, entry);
      }
      return true;
    });
  }

  /** The room a kept message was for, joined (or being joined) again. */
  private roomToResend(name: string): RoomConversation | undefined {
    const joined = this.rooms.get(name);
    if (joined) return joined;
    // Starts the join at once (`join` registers it before its first await).
    void this.join(name);
    return this.joining.get(name)?.room;
  }

  /**
   * Shows the message as pending at once; the SDK sends it now or when the connection is back.
   * `saved` is a message kept from before a reload, sent again under its `clientId`.
   */
  private sendTo(conversation: Conversation, text: string, saved?: SavedSend): void {
    const client = this.client;
    if (!client) return;
    const { timeline } = conversation;
    const pending = timeline.addPending(text, saved?.queuedAt);
    const options = saved ? { clientId: saved.clientId, queuedAt: saved.queuedAt } : {};
    if (conversation.kind === "room") {
      conversation.typingSender.stop();
      client.send(conversation.name, text, options).then(
        (message) => timeline.confirm(pending, message),
        (error: unknown) => this.failed(timeline, pending, error),
      );
      return;
    }
    client.dm(conversation.user, text, options).then(
      ({ message, online }) => {
        timeline.confirm(pending, message);
        if (!online && !conversation.toldOffline) {
          conversation.toldOffline = true;
          timeline.addNotice(`${conversation.user} is offline and will see this when they are back.`);
        }
      },
      (error: unknown) => this.failed(timeline, pending, error),
    );
  }

  private failed(timeline: Conversation["timeline"], pending: string, error: unknown): void {
    if (typeof error === "object" && error !== null) this.shown.add(error);
    // Closing the client (signing out) rejects what is still queued: nothing to show then.
    if (this.client) timeline.fail(pending, reasonOf(error));
  }

  private async loadOlder(): Promise<void> {
    const room = this.current;
    const client = this.client;
    if (room?.kind !== "room" || !client || room.loadingOlder || room.historyDone) return;
    const before = room.timeline.oldestId;
    if (before === undefined) {
      room.historyDone = true;
      return this.renderHistoryEdge();
    }
    room.loadingOlder = true;
    this.renderHistoryEdge();
    try {
      const messages = await client.history(room.name, { before, limit: LIMITS.defaultHistory });
      room.timeline.add(messages, "older");
      if (messages.length < LIMITS.defaultHistory) room.historyDone = true;
    } catch (error) {
      this.toast(`Couldn't load older messages: ${reasonOf(error)}`);
    } finally {
      room.loadingOlder = false;
      // The button may give way to "This is the beginning": keep the view where it is meanwhile.
      const captured = this.keeper.capture();
      this.renderHistoryEdge();
      if (this.current === room) this.keeper.settle(captured, "older");
    }
  }

  private async leaveCurrent(): Promise<void> {
    const room = this.current;
    const client = this.client;
    if (room?.kind !== "room" || !client) return;
    this.el.leave.disabled = true;
    try {
      await client.leave(room.name);
    } catch (error) {
      this.toast(`Couldn't leave ${room.name}: ${reasonOf(error)}`);
      return;
    } finally {
      this.el.leave.disabled = false;
    }
    room.typing.clear();
    room.typingSender.stop();
    this.rooms.delete(room.name);
    const count = (this.directory.get(room.name) ?? 1) - 1;
    if (count > 0) this.directory.set(room.name, count);
    else this.directory.delete(room.name);
    this.navigate({ kind: "home" });
    void this.refreshRooms();
    this.el.joinRoom.focus();
  }

  private async refreshRooms(): Promise<void> {
    const client = this.client;
    if (!client || client.state !== "connected") return;
    try {
      const rooms = await client.rooms();
      if (this.client !== client) return;
      this.directory.clear();
      for (const { room, members } of rooms) this.directory.set(room, members);
      this.render();
    } catch {
      // The list refreshes again on the next tick or reconnect.
    }
  }

  // ---- Rendering ----

  private membersOf(room: RoomConversation): string[] {
    return this.client?.members(room.name) ?? [];
  }

  private conversations(): Conversation[] {
    return [...this.rooms.values(), ...this.directs.values()];
  }

  private countUnread(conversation: Conversation, count: number): void {
    if (count === 0) return;
    if (this.current !== conversation || document.hidden) conversation.unread += count;
    this.render();
  }

  private markRead(): void {
    if (!this.current || this.current.unread === 0) return;
    this.current.unread = 0;
    this.render();
  }

  private showBanner(state: ConnectionState): void {
    const banner = BANNER[state];
    this.el.banner.hidden = banner === undefined;
    this.el.bannerText.textContent = banner?.text ?? "";
    this.el.banner.dataset.tone = banner?.tone ?? "";
    this.el.reconnect.hidden = state !== "offline";
    this.el.chat.dataset.connection = state;
  }

  private render(): void {
    const current = this.current;
    const names = new Set([...this.directory.keys(), ...this.rooms.keys()]);
    const rooms = [...names]
      .sort((a, b) => a.localeCompare(b))
      .map((name) => {
        const room = this.rooms.get(name);
        return {
          name,
          members: Math.max(room ? this.membersOf(room).length : 0, this.directory.get(name) ?? 0),
          joined: room !== undefined,
          unread: room?.unread ?? 0,
          current: room !== undefined && room === current,
        };
      });
    this.roomItems.render(rooms);
    this.el.roomsEmpty.hidden = rooms.length > 0;
    const directs = [...this.directs.values()].map((conversation) => ({
      user: conversation.user,
      unread: conversation.unread,
      current: conversation === current,
    }));
    this.directItems.render(directs);
    this.el.dmsEmpty.hidden = directs.length > 0;

    const unread = this.conversations().reduce((sum, conversation) => sum + conversation.unread, 0);
    this.el.navUnread.hidden = unread === 0;
    this.el.navUnread.textContent = String(unread);
    document.title = `${unread > 0 ? `(${unread}) ` : ""}${current ? `${current.title} · ` : ""}roomcast`;

    if (current?.kind === "room") {
      const members = this.membersOf(current);
      const count = members.length;
      this.el.viewSubtitle.textContent = `${count} ${count === 1 ? "member" : "members"}`;
      this.el.memberCount.textContent = String(count);
      this.memberItems.render(
        [...members]
          .sort((a, b) => (a === this.me ? -1 : b === this.me ? 1 : a.localeCompare(b)))
          .map((user) => ({ user, me: user === this.me })),
      );
    } else {
      this.el.viewSubtitle.textContent = current ? "Direct messages" : "";
      this.memberItems.render([]);
    }
    this.renderTyping();
    this.renderHistoryEdge();
  }

  private renderTyping(): void {
    const current = this.current;
    this.el.typing.textContent = current?.kind === "room" ? typingText(current.typing.users()) : "";
  }

  private renderHistoryEdge(): void {
    const current = this.current;
    const { loadOlder, historyStart } = this.el;
    if (current?.kind !== "room") {
      loadOlder.hidden = true;
      historyStart.hidden = current === undefined;
      historyStart.textContent = current ? `Your conversation with ${current.user}. Only you two can see it.` : "";
      return;
    }
    loadOlder.hidden = current.historyDone;
    loadOlder.disabled = current.loadingOlder;
    loadOlder.textContent = current.loadingOlder ? "Loading…" : "Load older messages";
    historyStart.hidden = !current.historyDone;
    historyStart.textContent = `This is the beginning of # ${current.name}.`;
  }

  private toast(text: string): void {
    const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
    const toast = h("p", { class: "toast" }, h("span", {}, text), close);
    const remove = () => toast.remove();
    close.addEventListener("click", remove);
    setTimeout(remove, TOAST_MS);
    this.el.toasts.append(toast);
  }
}

/** The `code` of an SDK or server error, if it has one. */
function codeOf(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
