// Helpers shared by the test stacks (this package's Vitest setup and examples/patients' browser test).
import { createServer } from "node:net";

/** A loopback port free right now. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => ok(port));
    });
    server.on("error", fail);
  });
}

/** Polls `url` until it answers 2xx; throws after 60 s naming `what`. */
export async function waitFor(url: string, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer ${url} within 60 s`);
}

/** A Relay process (the Release build) of the tests' PocketBase, on a port of its own unless `port` is given. */
export interface RelayProcess {
  url: string;
  port: number;
  /** Sends `signal` (SIGTERM drains, SIGKILL crashes) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startRelay(pocketBase: string, env: Record<string, string> = {}, port?: number): Promise<RelayProcess> {
  const { spawn } = await import("node:child_process");
  const path = await import("node:path");
  const relayDll = path.join(path.resolve(import.meta.dirname, "../../.."), "src/Relay/bin/Release/net10.0/Relay.dll");
  const chosen = port ?? (await freePort());
  const url = `http://127.0.0.1:${chosen}`;
  const child = spawn("dotnet", [relayDll], {
    stdio: process.env.DEBUG_RELAY ? "inherit" : "ignore",
    env: { ...process.env, ASPNETCORE_URLS: url, Relay__PocketBase__Url: `${pocketBase}/`, Serilog__ConsoleFormat: process.env.DEBUG_RELAY ? "text" : "none", ...env },
  });
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  await waitFor(`${url}/health/ready`, "Relay");
  return {
    url,
    port: chosen,
    stop: async (signal = "SIGKILL") => {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** A TCP forwarder standing in for a load balancer: new connections go to `target`, which a test may change. */
export async function startForwarder(target: number): Promise<{ url: string; retarget(port: number): void; close(): void }> {
  const { createServer: createTcpServer, connect } = await import("node:net");
  let current = target;
  const sockets = new Set<import("node:net").Socket>();
  const server = createTcpServer((client) => {
    const upstream = connect(current, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  const port = await new Promise<number>((ok) => server.listen(0, "127.0.0.1", () => ok((server.address() as { port: number }).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    retarget: (next) => (current = next),
    close: () => {
      server.close();
      sockets.forEach((s) => s.destroy());
    },
  };
}
