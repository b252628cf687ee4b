// The package's public surface: the root entry exports exactly these names, each named in src/index.ts, so an
// internal cannot become public API by accident (an `export *` did that for the backoff and the wire method names).
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { cancellableDelay, jitteredDelay } from "../src/retry.js";

const sources = resolve(import.meta.dirname, "../src");

const publicRoot = {
  values: ["AuthExpiredReasons", "ErrorCodes", "RelayActions", "RelayClient", "RelayError", "ResyncReasons"],
  types: [
    "AuthExpiredReason",
    "AuthExpiredSignal",
    "ConnectionState",
    "ErrorCode",
    "EventHandler",
    "HubConnectionLike",
    "RelayAction",
    "RelayClientOptions",
    "RelayEvent",
    "RelaySubscription",
    "ResyncReason",
    "ResyncSignal",
    "SubscriptionOptions",
  ],
};

function exportDeclarations(file: string): ts.ExportDeclaration[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  return source.statements.filter(ts.isExportDeclaration);
}

describe("package exports", () => {
  it("the root entry exports exactly the public API", async () => {
    const root = await import("../src/index.js");
    expect(Object.keys(root).sort()).toEqual(publicRoot.values);

    const types: string[] = [];
    for (const declaration of exportDeclarations(join(sources, "index.ts"))) {
      if (!declaration.exportClause || !ts.isNamedExports(declaration.exportClause)) continue;
      for (const element of declaration.exportClause.elements) {
        if (declaration.isTypeOnly || element.isTypeOnly) types.push(element.name.text);
      }
    }
    expect(types.sort()).toEqual(publicRoot.types);
  });

  it("no entry point re-exports a whole module", () => {
    const star = readdirSync(sources)
      .filter((name) => name.endsWith(".ts"))
      .flatMap((name) => exportDeclarations(join(sources, name)).filter((d) => !d.exportClause && d.moduleSpecifier).map(() => name));
    expect(star).toEqual([]);
  });
});

describe("reconnect backoff", () => {
  it("doubles per attempt, jittered between half and all of the step, capped, for any number of attempts", () => {
    const attempts = [0, 1, 2, 10, 1000];
    expect(attempts.map((n) => jitteredDelay(n, 200, 10_000, () => 0))).toEqual([100, 200, 400, 5000, 5000]);
    expect(attempts.map((n) => jitteredDelay(n, 200, 10_000, () => 1))).toEqual([200, 400, 800, 10000, 10000]);
  });

  it("a cancelled delay ends at once with false", async () => {
    const delay = cancellableDelay(60_000);
    delay.cancel();
    expect(await delay.done).toBe(false);
  });
});
