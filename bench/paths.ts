import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** A path under bench/, absolute. */
export const benchPath = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));
