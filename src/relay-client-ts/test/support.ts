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
