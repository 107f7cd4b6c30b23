/** The page's address: `#/room/<name>` or `#/dm/<user>`, names percent-encoded. */

export type Route = { kind: "home" } | { kind: "room"; name: string } | { kind: "dm"; user: string };

/** Reads a location hash; anything unreadable is home. */
export function parseRoute(hash: string): Route {
  const match = /^#\/(room|dm)\/(.+)$/.exec(hash);
  if (!match) return { kind: "home" };
  let name: string;
  try {
    name = decodeURIComponent(match[2] ?? "");
  } catch {
    return { kind: "home" };
  }
  if (name === "") return { kind: "home" };
  return match[1] === "room" ? { kind: "room", name } : { kind: "dm", user: name };
}

/** The hash of a route. */
export function routeHash(route: Route): string {
  switch (route.kind) {
    case "home":
      return "#/";
    case "room":
      return `#/room/${encodeURIComponent(route.name)}`;
    case "dm":
      return `#/dm/${encodeURIComponent(route.user)}`;
  }
}

export function sameRoute(a: Route, b: Route): boolean {
  return routeHash(a) === routeHash(b);
}
