import { QueryClient, QueryObserver } from "@tanstack/query-core";
import { expect, inject, it } from "vitest";
import { appendFileSync } from "node:fs";
import { RelayClient } from "../src/index.js";
import { relayKeys, syncQueryClient } from "../src/tanstack.js";

const relay = inject("relay");
const pocketBase = inject("pocketBase");
const admin = inject("admin");
const accounts = inject("accounts");

async function rest(method: string, path: string, token: string, body?: unknown): Promise<any> {
  const response = await fetch(pocketBase + path, {
    method,
    headers: { "content-type": "application/json", authorization: token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw Object.assign(new Error(`${method} ${path}: ${response.status} ${text}`), { status: response.status });
  return text ? JSON.parse(text) : undefined;
}

it("converges: 1,000 random writes by another user, with disconnects, leave every TanStack cache equal to PocketBase", async () => {
  const OPERATIONS = 1_000;
  // Start from an empty board.
  for (const item of (await rest("GET", "/api/collections/board/records?perPage=500", admin)).items) {
    await rest("DELETE", `/api/collections/board/records/${item.id}`, admin);
  }

  const viewers = await Promise.all(
    (["alice", "bob"] as const).map(async (name) => {
      const token = accounts[name].token;
      const client = new RelayClient({ url: relay, accessToken: () => token, reconnectBaseDelayMs: 50, reconnectMaxDelayMs: 500 });
      await client.start();
      const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
      const stop = syncQueryClient(client, queryClient, ["board/*"]);
      await stop.ready;
      const list = new QueryObserver(queryClient, {
        queryKey: [...relayKeys.lists("board"), "all"],
        queryFn: async () => (await rest("GET", "/api/collections/board/records?perPage=500", token)).items as Array<{ id: string; name: string }>,
      });
      const unsubscribeList = list.subscribe(() => {});
      const details: Array<() => void> = [];
      return { name, token, client, queryClient, stop, unsubscribeList, details };
    }),
  );

  const random = mulberry32(20261125);
  const live: string[] = [];
  const started = performance.now();
  let resyncs = 0;
  for (const viewer of viewers) viewer.client.onResync(() => resyncs++);
  for (let op = 0; op < OPERATIONS; op++) {
    if (op === 300 || op === 700) {
      // One viewer goes offline for a while (writes continue), then comes back: resubscribed and recovered from
      // Relay's history (no resync, no refetch), so the caches must converge from the events alone.
      const viewer = viewers[op === 300 ? 0 : 1];
      await viewer.client.stop();
      setTimeout(() => void viewer.client.start(), 150);
    }

    const roll = random();
    if (live.length === 0 || roll < 0.4) {
      const created = await rest("POST", "/api/collections/board/records", accounts.writer.token, { name: `item ${op}`, owner: accounts.writer.id });
      live.push(created.id);
      const viewer = viewers[live.length % viewers.length];
      if (viewer.details.length < 10) {
        // An open detail view, fetched as an app would.
        const observer = new QueryObserver(viewer.queryClient, {
          queryKey: relayKeys.detail("board", created.id),
          queryFn: async () => {
            try {
              return await rest("GET", `/api/collections/board/records/${created.id}`, viewer.token);
            } catch (error: any) {
              if (error.status === 404) return null;
              throw error;
            }
          },
        });
        viewer.details.push(observer.subscribe(() => {}));
      }
    } else if (roll < 0.8) {
      const id = live[Math.floor(random() * live.length)];
      await rest("PATCH", `/api/collections/board/records/${id}`, accounts.writer.token, { name: `item ${op} (updated)` });
    } else {
      const [id] = live.splice(Math.floor(random() * live.length), 1);
      await rest("DELETE", `/api/collections/board/records/${id}`, accounts.writer.token);
    }
  }

  const writeSeconds = (performance.now() - started) / 1000;
  const lastWrite = performance.now();
  const truth = new Map<string, string>(
    (await rest("GET", "/api/collections/board/records?perPage=500", admin)).items.map((r: any) => [r.id, r.name]),
  );
  const divergencesOf = (queryClient: QueryClient) => {
    let count = 0;
    const list = queryClient.getQueryData<Array<{ id: string; name: string }>>([...relayKeys.lists("board"), "all"]) ?? [];
    const listed = new Map(list.map((r) => [r.id, r.name]));
    for (const [id, name] of listed) if (truth.get(id) !== name) count++;
    for (const id of truth.keys()) if (!listed.has(id)) count++;
    for (const query of queryClient.getQueryCache().findAll({ queryKey: ["board", "detail"] })) {
      const id = query.queryKey[2] as string;
      const data = query.state.data as { name?: string } | null | undefined;
      if ((data?.name ?? undefined) !== truth.get(id)) count++;
    }
    return count;
  };

  let divergences: number;
  const deadline = performance.now() + 15_000;
  while ((divergences = viewers.reduce((sum, v) => sum + divergencesOf(v.queryClient), 0)) > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }

  const line = `convergence (TypeScript client + TanStack Query): ${OPERATIONS} random create/update/delete by another user in ${writeSeconds.toFixed(1)} s, one offline period per client, ${viewers.length} clients, ${truth.size} records left; ${resyncs} resync(s); divergences ${divergences}; converged ${(performance.now() - lastWrite).toFixed(0)} ms after the last write`;
  console.log(line);
  if (process.env.RELAY_RESULTS_DIR) appendFileSync(`${process.env.RELAY_RESULTS_DIR}/figures.txt`, line + "\n");
  expect(divergences).toBe(0);

  for (const viewer of viewers) {
    viewer.details.forEach((unsubscribe) => unsubscribe());
    viewer.unsubscribeList();
    await viewer.stop();
    await viewer.client.stop();
  }
}, 120_000);

function mulberry32(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
