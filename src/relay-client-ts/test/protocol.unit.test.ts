// protocol.ts against the .NET wire contract (the C# files of the Protocol folder the server and Relay.Client share):
// method names, message field names, error codes, reasons and constants, read from both sources. Adding or renaming
// one on either side without the other fails here, naming what differs.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as protocol from "../src/protocol.js";

const root = resolve(import.meta.dirname, "../../..");
const protocolTs = resolve(import.meta.dirname, "../src/protocol.ts");

/** C# constant tables and the TypeScript object each one is mirrored by (same keys, same values). */
const tables: Record<string, string> = {
  RelayErrorCodes: "ErrorCodes",
  ResyncReasons: "ResyncReasons",
  AuthExpiredReasons: "AuthExpiredReasons",
  RelayActions: "RelayActions",
};

/** C# hub interfaces and the TypeScript object of their method names (key = value = the C# method name). */
const methodTables: Record<string, string> = {
  IRelayHub: "HubMethods",
  IRelayClient: "ClientMethods",
};

/** RelayProtocol's constants and their TypeScript names; `null` where the client has no constant of its own. */
const protocolConstants: Record<string, string | null> = {
  HubPath: "HUB_PATH",
  Version: "PROTOCOL_VERSION",
  VersionParameter: "VERSION_PARAMETER",
  // The SignalR JavaScript client puts accessTokenFactory's token in this parameter itself (checked below).
  AccessTokenParameter: null,
};

/** C# types of the folder that are serialization plumbing, not wire contract. */
const plumbing = new Set(["JsonElementMessagePackFormatter", "RelayMessagePack"]);

/** TypeScript exports that are client policy, not wire contract. */
const clientOnly = new Set(["TRANSIENT_ERROR_CODES"]);

interface CSharpType {
  file: string;
  kind: string;
  name: string;
  dataContract: boolean;
  constants: Map<string, string | number>;
  dataMembers: string[];
  methods: string[];
}

function findProtocolFolder(): string {
  // Found by its error codes rather than a fixed path: the folder may move (into a Relay.Protocol assembly, say)
  // without this test silently comparing against nothing.
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === "bin" || name === "obj" || name === "node_modules" || name.startsWith(".")) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === "RelayErrorCodes.cs") found.push(dir);
    }
  };
  walk(join(root, "src"));
  if (found.length !== 1) throw new Error(`expected one RelayErrorCodes.cs under src/, found: ${found.map((d) => relative(root, d)).join(", ") || "none"}`);
  return found[0];
}

function withoutComments(source: string): string {
  // String literals are matched first so that a `//` inside one is kept.
  return source.replace(/"(?:[^"\\\n]|\\.)*"|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (match) => (match.startsWith('"') ? match : ""));
}

function readCSharp(folder: string): CSharpType[] {
  return readdirSync(folder)
    .filter((name) => name.endsWith(".cs"))
    .map((name) => {
      const file = relative(root, join(folder, name));
      const source = withoutComments(readFileSync(join(folder, name), "utf8"));
      const declarations = [...source.matchAll(/\bpublic\s+(?:(?:sealed|static|abstract|partial)\s+)*(class|interface|record|struct|enum)\s+(\w+)/g)];
      if (declarations.length !== 1) throw new Error(`${file}: expected one public type, found ${declarations.length}`);
      const [, kind, typeName] = declarations[0];
      const constants = new Map<string, string | number>();
      for (const [, type, constant, value] of source.matchAll(/\bpublic\s+const\s+(string|int)\s+(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*;/g)) {
        constants.set(constant, type === "int" ? Number(value) : JSON.parse(value));
      }
      return {
        file,
        kind,
        name: typeName,
        dataContract: /\[DataContract\b/.test(source),
        constants,
        dataMembers: [...source.matchAll(/\[DataMember\s*\(\s*Name\s*=\s*"([^"]+)"/g)].map((m) => m[1]),
        methods: kind === "interface" ? [...source.matchAll(/\bTask(?:<[^;(){}]*>)?\s+(\w+)\s*\(/g)].map((m) => m[1]) : [],
      };
    });
}

interface TsExports {
  interfaces: Map<string, string[]>;
  values: Set<string>;
}

function readTypeScript(): TsExports {
  const source = ts.createSourceFile(protocolTs, readFileSync(protocolTs, "utf8"), ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, string[]>();
  const values = new Set<string>();
  const exported = (node: ts.Node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  for (const statement of source.statements) {
    if (!exported(statement)) continue;
    if (ts.isInterfaceDeclaration(statement)) {
      interfaces.set(
        statement.name.text,
        statement.members.filter(ts.isPropertySignature).map((member) => (member.name as ts.Identifier | ts.StringLiteral).text),
      );
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) values.add((declaration.name as ts.Identifier).text);
    }
  }
  return { interfaces, values };
}

const csharp = readCSharp(findProtocolFolder());
const typescript = readTypeScript();
const byName = new Map(csharp.map((type) => [type.name, type]));
const runtime = protocol as unknown as Record<string, unknown>;

const sorted = (values: Iterable<string>) => [...values].sort();
const entries = (value: unknown) => Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));

describe("protocol.ts matches the .NET protocol", () => {
  it("finds the C# contract (so the comparisons below are not vacuous)", () => {
    expect(csharp.length).toBeGreaterThan(5);
    for (const name of [...Object.keys(tables), ...Object.keys(methodTables), "RelayProtocol", "RelayEvent"]) {
      expect(byName.has(name), `${name} in the C# protocol folder`).toBe(true);
    }
  });

  it("has a counterpart for every C# protocol type", () => {
    const unmatched = csharp
      .filter((type) => !plumbing.has(type.name) && !(type.name in tables) && !(type.name in methodTables) && type.name !== "RelayProtocol")
      .filter((type) => !(type.dataContract && typescript.interfaces.has(type.name)))
      .map((type) => `${type.file} (${type.name}${type.dataContract ? ": no exported interface of that name in protocol.ts" : ": no mapping in this test"})`);
    expect(unmatched).toEqual([]);
  });

  it("has a C# counterpart for every export of protocol.ts", () => {
    const mirrored = new Set([...Object.values(tables), ...Object.values(methodTables), ...Object.values(protocolConstants).filter((v) => v !== null)]);
    const valuesWithout = sorted(typescript.values).filter((name) => !mirrored.has(name) && !clientOnly.has(name));
    const interfacesWithout = sorted(typescript.interfaces.keys()).filter((name) => !byName.get(name)?.dataContract);
    expect({ values: valuesWithout, interfaces: interfacesWithout }).toEqual({ values: [], interfaces: [] });
  });

  it.each(Object.entries(tables))("%s = %s (names and values)", (csharpName, tsName) => {
    expect(entries(runtime[tsName])).toEqual(entries(Object.fromEntries(byName.get(csharpName)!.constants)));
  });

  it.each(Object.entries(methodTables))("%s = %s (method names)", (csharpName, tsName) => {
    const methods = byName.get(csharpName)!.methods;
    expect(methods.length).toBeGreaterThan(0);
    expect(entries(runtime[tsName])).toEqual(entries(Object.fromEntries(methods.map((m) => [m, m]))));
  });

  it("RelayProtocol's constants", () => {
    const constants = byName.get("RelayProtocol")!.constants;
    expect(sorted(constants.keys())).toEqual(sorted(Object.keys(protocolConstants)));
    for (const [name, tsName] of Object.entries(protocolConstants)) {
      if (tsName !== null) expect(runtime[tsName], `${tsName} = RelayProtocol.${name}`).toBe(constants.get(name));
    }
    expect(constants.get("AccessTokenParameter"), "the parameter SignalR's JavaScript client sends the token in").toBe("access_token");
  });

  it.each(csharp.filter((type) => type.dataContract).map((type) => [type.name, basename(type.file)]))(
    "%s has the same fields (%s)",
    (name) => {
      expect(sorted(typescript.interfaces.get(name) ?? [])).toEqual(sorted(byName.get(name)!.dataMembers));
    },
  );

  it("retries only codes that exist", () => {
    const codes = new Set(Object.values(protocol.ErrorCodes) as string[]);
    expect([...protocol.TRANSIENT_ERROR_CODES].filter((code) => !codes.has(code))).toEqual([]);
  });
});
