import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { ROOT, benchPath } from "../paths.js";

/** Where the reference servers are compiled to; git-ignored (bench/.gitignore). */
const OUT = benchPath(".build/");

/** Sources a reference server needs, relative to the repository root. */
const SHARED = ["protocol/index.ts"];

const done = new Set<string>();

function transpile(source: string): string {
  const input = join(ROOT, source);
  const output = join(OUT, source.replace(/\.ts$/, ".js"));
  if (done.has(output)) return output;
  const { outputText } = ts.transpileModule(readFileSync(input, "utf8"), {
    fileName: input,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, outputText);
  done.add(output);
  return output;
}

/**
 * Compiles a reference server (bench/references/<name>.ts) and the shared sources it imports to plain
 * JavaScript under bench/.build, keeping their relative paths, and returns the script to run. The
 * references then run on plain `node`, as roomcast runs from its tsc output: no TypeScript loader in
 * the measured processes.
 */
export function compiledReference(name: string): string {
  for (const source of SHARED) transpile(source);
  return transpile(relative(ROOT, benchPath(`references/${name}.ts`)));
}
