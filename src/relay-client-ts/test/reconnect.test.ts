// The scenarios against real Relay processes with the default call rate limit (20 calls/s) and the real
// PocketBase: a 40-topic page mount, a full Relay restart, a rate-limited batch, and a deploy drain behind a forwarder.
import { afterEach, expect, inject, it, vi } from "vitest";
import { appendFileSync } from "node:fs";
import { LogLevel } from "@microsoft/signalr";
import { RelayClient, type ConnectionState } from "../src/client.js";
import type { RelayError } from "../src/errors.js";
import { startForwarder, startRelay, type RelayProcess } from "./support.js";
import { until, within } from "./fake-hub.js";

const pocketBase = inject("pocketBase");
const accounts = inject("accounts");
const cleanup: Array<() => unknown> = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  vi.restoreAllMocks();
});

async function write(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(pocketBase + path, {
    method,
    headers: { "content-type": "application/json", authorization: accounts.writer.token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

function record(line: string): void {
  console.log(line);
  if (process.env.RELAY_RESULTS_DIR) appendFileSync(`${process.env.RELAY_RESULTS_DIR}/figures.txt`, line + "\n");
}

async function relay(env: Record<string, string> = {}, port?: number): Promise<RelayProcess> {
  const started = await startRelay(pocketBase, env, port);
  cleanup.push(() => started.stop());
  return started;
}

function client(url: string): { client: RelayClient; errors: RelayError[]; states: ConnectionState[] } {
  const created = new RelayClient({ url, accessToken: () => accounts.alice.token, reconnectBaseDelayMs: 100, reconnectMaxDelayMs: 1000, logLevel: process.env.DEBUG_RELAY ? LogLevel.Trace : LogLevel.None });
  const errors: RelayError[] = [];
  const states: ConnectionState[] = [];
  created.onSubscriptionError((e) => errors.push(e));
  created.onStateChange((s) => states.push(s));
  cleanup.push(() => created.stop());
  return { client: created, errors, states };
}

/** A list topic and 39 record topics, with a record behind each. */
async function fortyTopics(): Promise<{ topics: string[]; ids: string[] }> {
  const ids: string[] = [];
  for (let i = 0; i < 39; i++) ids.push((await write("POST", "/api/collections/board/records", { name: `forty ${i}`, owner: accounts.writer.id })).id);
  return { topics: ["board/*", ...ids.map((id) => `board/${id}`)], ids };
}

/** Watches every topic in one tick; returns the set of topics that received an event since the last `clear()`. */
function mount(relayClient: RelayClient, topics: string[]) {
  const delivered = new Set<string>();
  const subscriptions = topics.map((topic) => relayClient.watch(topic, (e) => delivered.add(e.topic)));
  return { delivered, ready: Promise.all(subscriptions.map((s) => s.ready)) };
}

/** Updates every record and waits until every topic delivered; returns how many did. */
async function deliverAll(ids: string[], delivered: Set<string>, topics: string[], round: string): Promise<number> {
  delivered.clear();
  for (const id of ids) await write("PATCH", `/api/collections/board/records/${id}`, { name: `${round} ${id}` });
  await until(() => delivered.size === topics.length, `all ${topics.length} topics to deliver`, 15_000).catch(() => {});
  return delivered.size;
}

it("a page mount of 40 topics subscribes all 40 under the default rate limit, and a full Relay restart brings all 40 back without a warning", async () => {
  const first = await relay();
  const { topics, ids } = await fortyTopics();
  const warn = vi.spyOn(console, "warn");
  const { client: c, errors, states } = client(first.url);
  await within(c.start(), "start");
  const page = mount(c, topics);
  await within(page.ready, "40 subscriptions", 30_000);
  const mounted = await deliverAll(ids, page.delivered, topics, "mounted");

  const resyncs: string[][] = [];
  c.onResync((s) => resyncs.push(s.topics));
  await first.stop("SIGKILL");
  await relay({}, first.port);
  await until(() => resyncs.flat().length === topics.length && c.state === "connected", "all 40 resubscribed after the restart", 60_000);
  const restarted = await deliverAll(ids, page.delivered, topics, "restarted");

  record(`TypeScript client, 40 topics (1 list + 39 records), default rate limit 20 calls/s: ${mounted}/40 delivering after the mount, ${restarted}/40 after a full Relay restart (${resyncs.flat().length} resynced, ${errors.length} subscription errors, ${warn.mock.calls.length} warnings)`);
  expect(mounted).toBe(40);
  expect(restarted).toBe(40);
  expect(resyncs.flat().sort()).toEqual([...topics].sort());
  expect(states).toContain("reconnecting");
  expect(errors).toEqual([]);
  expect(warn).not.toHaveBeenCalled();
}, 180_000);

it("retries a SubscribeMany refused with rate_limited until it succeeds", async () => {
  const server = await relay();
  const { client: c, errors } = client(server.url);
  await within(c.start(), "start");
  const outcomes: string[] = [];
  const invoke = c.connection.invoke.bind(c.connection);
  c.connection.invoke = (async (method: string, ...args: any[]) => {
    try {
      const result = await invoke(method, ...args);
      if (method === "SubscribeMany") outcomes.push("ok");
      return result;
    } catch (error) {
      if (method === "SubscribeMany") outcomes.push(String((error as Error).message).includes("rate_limited") ? "rate_limited" : "other");
      throw error;
    }
  }) as typeof c.connection.invoke;

  // Spend the connection's burst (20 calls per 1 s period) with more calls than two periods refill, then mount a page:
  // Relay runs a connection's calls in the order sent, so the SubscribeMany finds the bucket empty.
  const spent = Array.from({ length: 60 }, () => invoke("Unsubscribe", "board/none").catch(() => {}));
  await within(c.subscribe("board/*", () => {}), "subscribe", 30_000);
  await Promise.all(spent);
  expect(outcomes[0]).toBe("rate_limited");
  expect(outcomes.at(-1)).toBe("ok");
  expect(errors).toEqual([]);
}, 120_000);

it("a draining Relay (SIGTERM) sends its clients to the instance the load balancer picks next; they keep receiving", async () => {
  const [a, b] = await Promise.all([relay(), relay()]);
  const forwarder = await startForwarder(a.port);
  cleanup.push(() => forwarder.close());
  const { client: c, states } = client(forwarder.url);
  await within(c.start(), "start");
  const received: string[] = [];
  await within(c.subscribe("board/*", (e) => received.push(e.record.name as string)), "subscribe");
  await write("POST", "/api/collections/board/records", { name: "before the drain", owner: accounts.writer.id });
  await until(() => received.includes("before the drain"), "event from the first Relay");

  const resyncs: string[][] = [];
  c.onResync((signal) => resyncs.push(signal.topics));
  forwarder.retarget(b.port);
  await a.stop("SIGTERM");
  // The resync is raised once the second Relay holds the topic again: changes from then on are delivered.
  await until(() => resyncs.length > 0, "resubscribed on the second Relay", 60_000);
  await write("POST", "/api/collections/board/records", { name: "after the drain", owner: accounts.writer.id });
  await until(() => received.includes("after the drain"), "event from the second Relay", 15_000);
  expect(states).toEqual(["connecting", "connected", "reconnecting", "connected"]);
  expect(resyncs).toEqual([["board/*"]]);
  expect(c.state).toBe("connected");
}, 120_000);
