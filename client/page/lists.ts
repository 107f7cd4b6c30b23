import { avatar, h, hiddenText, KeyedList, setChildren } from "./dom.js";

export interface RoomItem {
  name: string;
  members: number;
  joined: boolean;
  unread: number;
  current: boolean;
}

export interface DirectItem {
  user: string;
  unread: number;
  current: boolean;
}

export interface MemberItem {
  user: string;
  me: boolean;
}

/** A count badge such as "3", read out as "3 unread". */
function setBadge(badge: HTMLElement, count: number, noun: string): void {
  badge.hidden = count === 0;
  setChildren(badge, count > 99 ? "99+" : String(count), hiddenText(` ${noun}`));
}

/** A sidebar entry: a button with an icon, the name, an unread badge, and whatever follows. */
function navItem(
  data: Record<string, string>,
  icon: Node,
  name: string,
  open: () => void,
  ...after: Node[]
): HTMLLIElement {
  const button = h(
    "button",
    { type: "button", class: "nav-item" },
    icon,
    h("span", { class: "name" }, name),
    h("span", { class: "badge" }),
    ...after,
  );
  button.addEventListener("click", open);
  return h("li", data, button);
}

/** Marks a sidebar entry as the open conversation, and shows its unread count. */
function updateNavItem(element: HTMLLIElement, item: { current: boolean; unread: number }): void {
  const button = element.querySelector("button");
  const badge = element.querySelector<HTMLElement>(".badge");
  if (!button || !badge) return;
  element.classList.toggle("unread", item.unread > 0);
  if (item.current) button.setAttribute("aria-current", "page");
  else button.removeAttribute("aria-current");
  setBadge(badge, item.unread, "unread");
}

/** The sidebar's rooms: every room with people in it, and the ones the user joined. */
export function roomList(list: HTMLUListElement, open: (room: string) => void): KeyedList<RoomItem> {
  return new KeyedList<RoomItem>(
    list,
    (item) => item.name,
    (item) =>
      navItem(
        { "data-room": item.name },
        h("span", { class: "hash", "aria-hidden": "true" }, "#"),
        item.name,
        () => open(item.name),
        h("span", { class: "count" }),
      ),
    (element, item) => {
      updateNavItem(element, item);
      element.classList.toggle("joined", item.joined);
      const count = element.querySelector<HTMLElement>(".count");
      if (count) setChildren(count, String(item.members), hiddenText(item.members === 1 ? " member" : " members"));
      element.querySelector("button")?.setAttribute("title", item.joined ? `Open ${item.name}` : `Join ${item.name}`);
    },
  );
}

/** The sidebar's direct-message conversations, with their unread counts. */
export function directList(list: HTMLUListElement, open: (user: string) => void): KeyedList<DirectItem> {
  return new KeyedList<DirectItem>(
    list,
    (item) => item.user,
    (item) => navItem({ "data-user": item.user }, avatar(item.user), item.user, () => open(item.user)),
    updateNavItem,
  );
}

/** The members of the open room; selecting someone else opens a direct conversation. */
export function memberList(list: HTMLUListElement, message: (user: string) => void): KeyedList<MemberItem> {
  return new KeyedList<MemberItem>(
    list,
    (item) => `${item.me ? "me" : "other"}:${item.user}`,
    (item) => {
      if (item.me) {
        return h(
          "li",
          { class: "member me", "data-user": item.user },
          avatar(item.user),
          h("span", { class: "name" }, item.user),
          h("span", { class: "you" }, "(you)"),
        );
      }
      const button = h(
        "button",
        { type: "button", class: "member-button", title: `Send ${item.user} a direct message` },
        avatar(item.user),
        h("span", { class: "name" }, item.user),
        hiddenText(", send a direct message"),
      );
      button.addEventListener("click", () => message(item.user));
      return h("li", { class: "member", "data-user": item.user }, button);
    },
    () => {},
  );
}
