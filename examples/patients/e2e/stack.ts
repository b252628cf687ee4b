// The demo stack for the browser test: PocketBase (RELAY_POCKETBASE_VERSION: 0.22.20 or 0.40.4) with the compose
// stack's migrations of that version's shape (patients, editor and viewer accounts), and Relay's Release build in BFF
// mode serving the built app from its own origin (Relay:Bff:WebRoot), as scripts/run-demo.sh runs it.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { demoMigrations, pocketBaseVersion, startPocketBase } from "../../../src/relay-client-ts/test/pocketbase-versions.js";
import { freePort, waitFor } from "../../../src/relay-client-ts/test/support.js";

const root = resolve(import.meta.dirname, "../../..");
const app = resolve(import.meta.dirname, "..");
const children: ChildProcess[] = [];

export default async function setup(project: TestProject) {
  const relayDll = join(root, "src/Relay/bin/Release/net10.0/Relay.dll");
  if (!existsSync(relayDll)) {
    execFileSync("dotnet", ["build", join(root, "src/Relay/Relay.csproj"), "-c", "Release", "-nologo", "-clp:ErrorsOnly"], { stdio: "inherit" });
  }
  if (!existsSync(join(app, "dist/index.html"))) {
    execFileSync("npx", ["vite", "build"], { cwd: app, stdio: "inherit" });
  }

  const data = mkdtempSync(join(tmpdir(), "relay-e2e-"));
  const server = await startPocketBase({
    dataDir: data,
    port: await freePort(),
    migrationsDir: demoMigrations(pocketBaseVersion()),
    env: { PB_ADMIN_EMAIL: "admin@relay.test", PB_ADMIN_PASSWORD: "relay-admin-password", PB_DEMO_PASSWORD: "demo-password-1" },
  });
  children.push(server.child);
  const pocketBase = server.url;

  const relayPort = await freePort();
  const relay = `http://127.0.0.1:${relayPort}`;
  children.push(spawn("dotnet", [relayDll], {
    stdio: "ignore",
    env: {
      ...process.env,
      // Development: the session cookie without the __Host- prefix, which browsers accept only over HTTPS.
      ASPNETCORE_ENVIRONMENT: "Development",
      ASPNETCORE_URLS: relay,
      Relay__PocketBase__Url: `${pocketBase}/`,
      Relay__Bff__Enabled: "true",
      Relay__Bff__WebRoot: join(app, "dist"),
      Relay__Bff__KeysDirectory: join(data, "keys"),
      Serilog__ConsoleFormat: "none",
    },
  }));
  await waitFor(`${relay}/health/ready`, "Relay");

  project.provide("app", `${relay}/`);
  project.provide("pocketBase", pocketBase);

  return () => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(data, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    app: string;
    pocketBase: string;
  }
}
