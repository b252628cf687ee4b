// Starts a real PocketBase (the npm-shipped 0.22.20 binary) and Relay's Release build for the tests, with a
// `board` collection any signed-in user can read and its owner can write, and three users.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort, waitFor } from "./support.js";

const root = resolve(import.meta.dirname, "../../..");
const children: ChildProcess[] = [];
let dataDir = "";

async function api(base: string, method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const response = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`PocketBase ${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export default async function setup(project: TestProject) {
  const binary = process.env.RELAY_POCKETBASE_BIN ?? execFileSync("bash", [join(root, "scripts/fetch-pocketbase.sh")]).toString().trim().split("\n").pop()!;
  const relayDll = join(root, "src/Relay/bin/Release/net10.0/Relay.dll");
  if (!existsSync(relayDll)) {
    execFileSync("dotnet", ["build", join(root, "src/Relay/Relay.csproj"), "-c", "Release", "-nologo", "-clp:ErrorsOnly"], { stdio: "inherit" });
  }

  dataDir = mkdtempSync(join(tmpdir(), "relay-ts-"));
  const pbPort = await freePort();
  const pocketBase = `http://127.0.0.1:${pbPort}`;
  children.push(spawn(binary, ["serve", `--http=127.0.0.1:${pbPort}`, `--dir=${join(dataDir, "pb_data")}`, "--automigrate=false"], { stdio: "ignore" }));
  await waitFor(`${pocketBase}/api/health`, "PocketBase");

  await api(pocketBase, "POST", "/api/admins", { email: "admin@relay.test", password: "relay-admin-password", passwordConfirm: "relay-admin-password" });
  const admin = (await api(pocketBase, "POST", "/api/admins/auth-with-password", { identity: "admin@relay.test", password: "relay-admin-password" })).token;
  const users = await api(pocketBase, "GET", "/api/collections/users", undefined, admin);
  await api(pocketBase, "POST", "/api/collections", {
    name: "board",
    type: "base",
    schema: [
      { name: "name", type: "text", options: {} },
      { name: "owner", type: "relation", required: true, options: { collectionId: users.id, maxSelect: 1 } },
    ],
    listRule: '@request.auth.id != ""',
    viewRule: '@request.auth.id != ""',
    createRule: "owner = @request.auth.id",
    updateRule: "owner = @request.auth.id",
    deleteRule: "owner = @request.auth.id",
  }, admin);

  const accounts: Record<string, { id: string; token: string }> = {};
  for (const name of ["alice", "bob", "writer"]) {
    const email = `${name}@relay.test`;
    await api(pocketBase, "POST", "/api/collections/users/records", { email, password: "password-1234", passwordConfirm: "password-1234" });
    const auth = await api(pocketBase, "POST", "/api/collections/users/auth-with-password", { identity: email, password: "password-1234" });
    accounts[name] = { id: auth.record.id, token: auth.token };
  }

  const relayPort = await freePort();
  const relay = `http://127.0.0.1:${relayPort}`;
  children.push(spawn("dotnet", [relayDll], {
    stdio: "ignore",
    env: { ...process.env, ASPNETCORE_URLS: relay, Relay__PocketBase__Url: `${pocketBase}/`, Serilog__ConsoleFormat: "none", Relay__HubCallsPerSecond: "1000" },
  }));
  await waitFor(`${relay}/health/ready`, "Relay");

  project.provide("relay", relay);
  project.provide("pocketBase", pocketBase);
  project.provide("admin", admin);
  project.provide("accounts", accounts);

  return () => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    relay: string;
    pocketBase: string;
    admin: string;
    accounts: Record<string, { id: string; token: string }>;
  }
}
