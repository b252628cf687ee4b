// The demo stack for the browser test: PocketBase 0.22.20 with the compose stack's migrations (patients, editor and
// viewer accounts), Relay's Release build allowing the app's origin, and the built app served statically.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort, waitFor } from "../../../src/relay-client-ts/test/support.js";

const root = resolve(import.meta.dirname, "../../..");
const app = resolve(import.meta.dirname, "..");
const children: ChildProcess[] = [];

export default async function setup(project: TestProject) {
  const binary = process.env.RELAY_POCKETBASE_BIN ?? execFileSync("bash", [join(root, "scripts/fetch-pocketbase.sh")]).toString().trim().split("\n").pop()!;
  const relayDll = join(root, "src/Relay/bin/Release/net10.0/Relay.dll");
  if (!existsSync(relayDll)) {
    execFileSync("dotnet", ["build", join(root, "src/Relay/Relay.csproj"), "-c", "Release", "-nologo", "-clp:ErrorsOnly"], { stdio: "inherit" });
  }
  if (!existsSync(join(app, "dist/index.html"))) {
    execFileSync("npx", ["vite", "build"], { cwd: app, stdio: "inherit" });
  }

  const data = mkdtempSync(join(tmpdir(), "relay-e2e-"));
  const pbPort = await freePort();
  const pocketBase = `http://127.0.0.1:${pbPort}`;
  children.push(spawn(binary, ["serve", `--http=127.0.0.1:${pbPort}`, `--dir=${join(data, "pb_data")}`, `--migrationsDir=${join(root, "deploy/pocketbase/pb_migrations")}`, "--automigrate=false"], {
    stdio: "ignore",
    env: { ...process.env, PB_ADMIN_EMAIL: "admin@relay.test", PB_ADMIN_PASSWORD: "relay-admin-password", PB_DEMO_PASSWORD: "demo-password-1" },
  }));
  await waitFor(`${pocketBase}/api/health`, "PocketBase");

  // The app, served as built files.
  const appPort = await freePort();
  const appUrl = `http://127.0.0.1:${appPort}`;
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
  const server = createHttpServer((request, response) => {
    const path = join(app, "dist", new URL(request.url ?? "/", appUrl).pathname);
    const file = existsSync(path) && statSync(path).isFile() ? path : join(app, "dist/index.html");
    response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((ok) => server.listen(appPort, "127.0.0.1", ok));

  const relayPort = await freePort();
  const relay = `http://127.0.0.1:${relayPort}`;
  children.push(spawn("dotnet", [relayDll], {
    stdio: "ignore",
    env: { ...process.env, ASPNETCORE_URLS: relay, Relay__PocketBase__Url: `${pocketBase}/`, Relay__AllowedOrigins__0: appUrl, Serilog__ConsoleFormat: "none" },
  }));
  await waitFor(`${relay}/health/ready`, "Relay");

  project.provide("app", `${appUrl}/?pb=${encodeURIComponent(pocketBase)}&relay=${encodeURIComponent(relay)}`);
  project.provide("pocketBase", pocketBase);

  return () => {
    for (const child of children) child.kill("SIGKILL");
    server.close();
    rmSync(data, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    app: string;
    pocketBase: string;
  }
}
