// PocketBase for the TypeScript test stacks (this package's Vitest setup and examples/patients' browser test), in
// either supported version: RELAY_POCKETBASE_VERSION=0.40.4|0.22.20 (unset: 0.22.20), the binary from
// RELAY_POCKETBASE_BIN or scripts/fetch-pocketbase.sh. What differs between 0.22 and 0.23+ for a test (superuser
// creation and sign-in, collection shape, migrations) is said here once; the .NET fixture
// (tests/Relay.Testing.PocketBase) is its counterpart.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { waitFor } from "./support.js";

const root = resolve(import.meta.dirname, "../../..");

export type PocketBaseVersion = "0.22.20" | "0.40.4";

export const superuser = { email: "admin@relay.test", password: "relay-admin-password" };

export function pocketBaseVersion(): PocketBaseVersion {
  const value = process.env.RELAY_POCKETBASE_VERSION || "0.22.20";
  if (value !== "0.22.20" && value !== "0.40.4") throw new Error(`RELAY_POCKETBASE_VERSION must be 0.22.20 or 0.40.4, not '${value}'`);
  return value;
}

/** 0.23+: `_superusers` records, collections with flat `fields`, JS migrations with `app`. */
export function hasSuperuserCollection(version: PocketBaseVersion): boolean {
  return version !== "0.22.20";
}

/** The compose stack's demo schema and accounts as JS migrations of this version's shape. */
export function demoMigrations(version: PocketBaseVersion): string {
  return join(root, "deploy/pocketbase/pb_migrations", hasSuperuserCollection(version) ? "0.23" : "0.22");
}

export function pocketBaseBinary(version: PocketBaseVersion): string {
  const configured = process.env.RELAY_POCKETBASE_BIN;
  if (configured) {
    // One setting chooses the version; a binary of another one would silently test the wrong PocketBase.
    const says = execFileSync(configured, ["--version"]).toString().trim();
    if (!says.endsWith(`version ${version}`)) throw new Error(`RELAY_POCKETBASE_BIN '${configured}' says '${says}', but ${version} is asked for`);
    return configured;
  }
  return execFileSync("bash", [join(root, "scripts/fetch-pocketbase.sh"), version]).toString().trim().split("\n").pop()!;
}

export interface PocketBaseProcess {
  url: string;
  version: PocketBaseVersion;
  child: ChildProcess;
}

/**
 * Starts PocketBase on `port` with its data in `dataDir` and the superuser {@link superuser} created before `serve`
 * (0.23+ started without one prints an installer link and tries to open a browser). `--dev=false`: 0.23+ takes a
 * binary under the temp folder for `go run` and would switch dev mode on.
 */
export async function startPocketBase(options: { dataDir: string; port: number; migrationsDir?: string; env?: Record<string, string> }): Promise<PocketBaseProcess> {
  const version = pocketBaseVersion();
  const binary = pocketBaseBinary(version);
  const data = [`--dir=${join(options.dataDir, "pb_data")}`, "--dev=false"];
  const setup = hasSuperuserCollection(version)
    ? [["superuser", "upsert", superuser.email, superuser.password]]
    : [["migrate", "up"], ["admin", "create", superuser.email, superuser.password]];
  for (const command of setup) execFileSync(binary, [...command, ...data], { stdio: "ignore" });
  const migrations = options.migrationsDir ? [`--migrationsDir=${options.migrationsDir}`] : [];
  const child = spawn(binary, ["serve", `--http=127.0.0.1:${options.port}`, "--automigrate=false", ...migrations, ...data], {
    stdio: "ignore",
    env: { ...process.env, ...options.env },
  });
  const url = `http://127.0.0.1:${options.port}`;
  await waitFor(`${url}/api/health`, "PocketBase");
  return { url, version, child };
}

export async function api(base: string, method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const response = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`PocketBase ${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function superuserToken(pocketBase: PocketBaseProcess): Promise<string> {
  const path = hasSuperuserCollection(pocketBase.version) ? "/api/collections/_superusers/auth-with-password" : "/api/admins/auth-with-password";
  return (await api(pocketBase.url, "POST", path, { identity: superuser.email, password: superuser.password })).token;
}

export interface Field {
  name: string;
  type: "text" | "number" | "bool" | "relation";
  required?: boolean;
  /** relation: the target collection's name. */
  collection?: string;
}

/**
 * Creates a base collection in this version's shape: 0.22 `schema` with nested `options`; 0.23+ flat `fields`, plus the
 * `created`/`updated` autodate fields 0.22 gives every record.
 */
export async function createCollection(pocketBase: PocketBaseProcess, token: string, name: string, fields: Field[], rules: Record<"listRule" | "viewRule" | "createRule" | "updateRule" | "deleteRule", string | null>): Promise<void> {
  const modern = hasSuperuserCollection(pocketBase.version);
  const shaped = [];
  for (const field of fields) {
    const options: Record<string, unknown> = {};
    if (field.collection) Object.assign(options, { collectionId: (await api(pocketBase.url, "GET", `/api/collections/${field.collection}`, undefined, token)).id, maxSelect: 1 });
    const base = { name: field.name, type: field.type, required: field.required ?? false };
    shaped.push(modern ? { ...base, ...options } : { ...base, options });
  }
  if (modern) {
    shaped.push({ name: "created", type: "autodate", onCreate: true, onUpdate: false }, { name: "updated", type: "autodate", onCreate: true, onUpdate: true });
  }
  await api(pocketBase.url, "POST", "/api/collections", { name, type: "base", [modern ? "fields" : "schema"]: shaped, ...rules }, token);
}
