/**
 * The page's only way to make DOM: elements with attributes, and text as text nodes. Nothing here
 * parses HTML, so a user's text can never become markup.
 */

export type Child = Node | string | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | undefined>;

/**
 * Creates an element. String children become text nodes; `false`/`undefined` attributes are left
 * out and `true` ones are set empty.
 *
 * @example
 * h("li", { class: "member" }, userName) // <li class="member">…the name as text…</li>
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    // Event handlers are attached with addEventListener, never as attribute text.
    if (/^on/i.test(name)) throw new Error(`h(): refusing the event-handler attribute ${name}`);
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...nodes(children));
  return element;
}

/** Replaces an element's children; strings become text nodes. */
export function setChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...nodes(children));
}

function nodes(children: Child[]): Node[] {
  const result: Node[] = [];
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    result.push(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return result;
}

/** The element with this id, which index.html must have, checked to be of the expected type. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`index.html has no ${type.name} #${id}`);
  return element;
}

/** Text that screen readers read but the eye does not see (for counts shown as bare numbers). */
export function hiddenText(text: string): HTMLSpanElement {
  return h("span", { class: "visually-hidden" }, text);
}

/** A colored circle with the name's initial; the color is stable for a name. */
export function avatar(name: string): HTMLSpanElement {
  const initial = [...name.trim()][0]?.toUpperCase() ?? "?";
  return h("span", { class: "avatar", "data-hue": String(hue(name)), "aria-hidden": "true" }, initial);
}

/** One of 12 hues, picked from the name so that each person keeps a color. */
export function hue(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 12;
}

/**
 * Puts `wanted` into `parent` in that order, moving only what is out of place and removing the
 * rest, so that focus and scroll positions inside the unchanged children survive.
 */
export function placeInOrder(parent: Element, wanted: readonly Element[]): void {
  let cursor = parent.firstElementChild;
  for (const element of wanted) {
    if (element === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(element, cursor);
  }
  while (cursor) {
    const next: Element | null = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
}

/** A list whose items keep their elements across renders, keyed by name. */
export class KeyedList<T> {
  private readonly elements = new Map<string, HTMLLIElement>();

  constructor(
    readonly list: HTMLElement,
    private readonly key: (item: T) => string,
    private readonly make: (item: T) => HTMLLIElement,
    private readonly update: (element: HTMLLIElement, item: T) => void,
  ) {}

  render(items: readonly T[]): void {
    const wanted: HTMLLIElement[] = [];
    const keys = new Set<string>();
    for (const item of items) {
      const key = this.key(item);
      keys.add(key);
      let element = this.elements.get(key);
      if (!element) {
        element = this.make(item);
        this.elements.set(key, element);
      }
      this.update(element, item);
      wanted.push(element);
    }
    for (const key of [...this.elements.keys()]) if (!keys.has(key)) this.elements.delete(key);
    placeInOrder(this.list, wanted);
  }
}
