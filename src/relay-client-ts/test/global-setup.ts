// Starts a real PocketBase (RELAY_POCKETBASE_VERSION: 0.22.20 or 0.40.4, see pocketbase-versions.ts) and Relay's
// Release build for the tests, with a `board` collection any signed-in user can read and its owner can write, and three users.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { api, createCollection, startPocketBase, superuserToken } from "./pocketbase-versions.js";
import { freePort, waitFor } from "./support.js";

const root = resolve(import.meta.dirname, "../../..");
const children: ChildProcess[] = [];
let dataDir = "";

export default async function setup(project: TestProject) {
  const relayDll = join(root, "src/Relay/bin/Release/net10.0/Relay.dll");
  if (!existsSync(relayDll)) {
    execFileSync("dotnet", ["build", join(root, "src/Relay/Relay.csproj"), "-c", "Release", "-nologo", "-clp:ErrorsOnly"], { stdio: "inherit" });
  }

  dataDir = mkdtempSync(join(tmpdir(), "relay-ts-"));
  const server = await startPocketBase({ dataDir, port: await freePort() });
  children.push(server.child);
  const pocketBase = server.url;
  const admin = await superuserToken(server);
  await createCollection(server, admin, "board", [
    { name: "name", type: "text" },
    { name: "owner", type: "relation", required: true, collection: "users" },
  ], {
    listRule: '@request.auth.id != ""',
    viewRule: '@request.auth.id != ""',
    createRule: "owner = @request.auth.id",
    updateRule: "owner = @request.auth.id",
    deleteRule: "owner = @request.auth.id",
  });

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
