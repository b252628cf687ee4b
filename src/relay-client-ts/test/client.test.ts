import { afterEach, describe, expect, inject, it } from "vitest";
import { RelayClient, RelayError, type RelayEvent } from "../src/index.js";

const relay = inject("relay");
const pocketBase = inject("pocketBase");
const accounts = inject("accounts");
const clients: RelayClient[] = [];

async function connect(token?: string): Promise<RelayClient> {
  const client = new RelayClient({ url: relay, accessToken: () => token });
  await client.start();
  clients.push(client);
  return client;
}

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

function collect(): { events: RelayEvent[]; next: (count?: number) => Promise<RelayEvent[]> } {
  const events: RelayEvent[] = [];
  return {
    events,
    next: async (count = 1) => {
      const deadline = Date.now() + 10_000;
      while (events.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(events.length).toBeGreaterThanOrEqual(count);
      return events.splice(0, count);
    },
  };
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

describe("RelayClient against a real Relay and PocketBase", () => {
  it("delivers create, update and delete to every handler of a topic, in order", async () => {
    const client = await connect(accounts.alice.token);
    const first = collect();
    const second = collect();
    await client.subscribe("board/*", (e) => first.events.push(e));
    await client.subscribe("board/*", (e) => second.events.push(e));

    const created = await write("POST", "/api/collections/board/records", { name: "one", owner: accounts.writer.id });
    await write("PATCH", `/api/collections/board/records/${created.id}`, { name: "two" });
    await write("DELETE", `/api/collections/board/records/${created.id}`);

    for (const handler of [first, second]) {
      const events = await handler.next(3);
      expect(events.map((e) => e.action)).toEqual(["create", "update", "delete"]);
      expect(events.every((e) => e.record.id === created.id && e.topic === "board/*")).toBe(true);
      expect(events[1].record.name).toBe("two");
    }
  });

  it("stops delivering after the last handler unsubscribes", async () => {
    const client = await connect(accounts.alice.token);
    const received = collect();
    const unsubscribe = await client.subscribe("board/*", (e) => received.events.push(e));
    await unsubscribe();
    await new Promise((r) => setTimeout(r, 200));
    await write("POST", "/api/collections/board/records", { name: "unseen", owner: accounts.writer.id });
    await new Promise((r) => setTimeout(r, 500));
    expect(received.events).toHaveLength(0);
  });

  it("refuses bad topics with Relay's error code", async () => {
    const client = await connect(accounts.alice.token);
    await expect(client.subscribe("board", () => {})).rejects.toMatchObject({ code: "invalid_topic" });
    await expect(client.subscribe("bo ard/*", () => {})).rejects.toBeInstanceOf(RelayError);
    await expect(client.reauthenticate(accounts.bob.token)).rejects.toMatchObject({ code: "token_user_mismatch" });
  });

  it("gives a guest nothing of a collection that needs auth", async () => {
    const guest = await connect(undefined);
    const member = await connect(accounts.bob.token);
    const guestEvents = collect();
    const memberEvents = collect();
    await guest.subscribe("board/*", (e) => guestEvents.events.push(e));
    await member.subscribe("board/*", (e) => memberEvents.events.push(e));

    await write("POST", "/api/collections/board/records", { name: "members only", owner: accounts.writer.id });

    await memberEvents.next(1);
    expect(guestEvents.events).toHaveLength(0);
  });

  it("coming back to the same Relay within its history gets the missed events replayed in order, without a resync", async () => {
    const client = await connect(accounts.alice.token);
    const received = collect();
    const resyncs: string[][] = [];
    client.onResync((signal) => resyncs.push(signal.topics));
    await client.subscribe("board/*", (e) => received.events.push(e));

    await client.stop();
    const missed = [];
    for (const name of ["missed 1", "missed 2", "missed 3"]) missed.push(await write("POST", "/api/collections/board/records", { name, owner: accounts.writer.id }));
    await client.start();

    expect((await received.next(3)).map((e) => e.record.id)).toEqual(missed.map((r) => r.id));
    expect(resyncs).toEqual([]);
    const after = await write("POST", "/api/collections/board/records", { name: "after", owner: accounts.writer.id });
    expect((await received.next(1))[0].record.id).toBe(after.id);
    expect(resyncs).toEqual([]);
  });
});
