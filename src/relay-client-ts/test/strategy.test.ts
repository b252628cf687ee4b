// The cache strategy's list coalescing, on a real TanStack QueryClient with fake timers (no Relay needed: pure logic).
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { QueryClient, QueryObserver } from "@tanstack/query-core";
import { createCacheStrategy } from "../src/tanstack.js";
import type { RelayEvent } from "../src/index.js";

const windowMs = 100;
let queryClient: QueryClient;
let fetches: number;
let stop: () => void;

function create(id: string): RelayEvent {
  return { topic: "patients/*", action: "create", record: { id, collectionName: "patients" } };
}

/** Lets promise continuations run without moving the fake clock. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

beforeEach(async () => {
  vi.useFakeTimers();
  queryClient = new QueryClient();
  fetches = 0;
  const observer = new QueryObserver(queryClient, {
    queryKey: ["patients", "list", "all"],
    queryFn: async () => {
      fetches++;
      return [];
    },
  });
  stop = observer.subscribe(() => {});
  await settle();
  expect(fetches).toBe(1); // the observer's first fetch
});

afterEach(() => {
  stop();
  queryClient.clear();
  vi.useRealTimers();
});

it("refetches the lists at once for a lone change, with the clock standing still", async () => {
  const strategy = createCacheStrategy(queryClient, { coalesceMs: windowMs });
  await strategy.apply(create("p1"));
  await settle();
  expect(fetches).toBe(2);

  const flushed = strategy.flush();
  await vi.advanceTimersByTimeAsync(windowMs);
  await flushed;
  expect(fetches).toBe(2); // nothing else came in the window: no trailing refetch
});

it("gathers a burst into one refetch at once and one after the last event", async () => {
  const strategy = createCacheStrategy(queryClient, { coalesceMs: windowMs });
  for (let i = 0; i < 50; i++) await strategy.apply(create(`p${i}`));
  await settle();
  expect(fetches).toBe(2); // the burst's first event, at once

  const flushed = strategy.flush();
  await vi.advanceTimersByTimeAsync(windowMs);
  await settle();
  expect(fetches).toBe(3); // the other 49, together
  await vi.advanceTimersByTimeAsync(windowMs);
  await flushed;
  expect(fetches).toBe(3);

  await strategy.apply(create("late")); // the window has closed: refetched at once again
  await settle();
  expect(fetches).toBe(4);
});

it("replaces an updated record and removes a deleted one in cached lists at once, before any refetch", async () => {
  const strategy = createCacheStrategy(queryClient, { coalesceMs: windowMs });
  const key = ["patients", "list", { sort: "name" }];
  queryClient.setQueryData(key, [{ id: "a", name: "Ann", expand: { owner: { id: "u" } } }, { id: "b", name: "Bob" }]);
  queryClient.setQueryData(["patients", "list", { page: 1 }], { page: 1, totalItems: 2, items: [{ id: "a", name: "Ann" }, { id: "b", name: "Bob" }] });

  await strategy.apply({ topic: "patients/*", action: "update", record: { id: "a", collectionName: "patients", name: "Anna" } });
  expect(queryClient.getQueryData(key)).toEqual([{ id: "a", name: "Anna", collectionName: "patients", expand: { owner: { id: "u" } } }, { id: "b", name: "Bob" }]);

  await strategy.apply({ topic: "patients/*", action: "delete", record: { id: "b", collectionName: "patients" } });
  expect(queryClient.getQueryData<Array<{ id: string }>>(key)!.map((r) => r.id)).toEqual(["a"]);
  expect(queryClient.getQueryData(["patients", "list", { page: 1 }])).toMatchObject({ totalItems: 1, items: [{ id: "a", name: "Anna" }] });

  const flushed = strategy.flush();
  await vi.advanceTimersByTimeAsync(windowMs * 2);
  await flushed;
});

it("keeps a deleted record deleted and a newer record newer when PocketBase delivers their events out of order", async () => {
  const strategy = createCacheStrategy(queryClient, { coalesceMs: windowMs });
  const detail = (id: string) => new QueryObserver(queryClient, { queryKey: ["patients", "detail", id], queryFn: async () => ({ id, name: "fetched", updated: "2026-11-30 10:00:00.000Z" }) });
  const unsubscribe = [detail("p1").subscribe(() => {}), detail("p2").subscribe(() => {})];
  await settle();

  // Seen on PocketBase 0.22.20: a record's delete, then the update written before it.
  await strategy.apply({ topic: "patients/*", action: "delete", record: { id: "p1", collectionName: "patients" } });
  await strategy.apply({ topic: "patients/*", action: "update", record: { id: "p1", collectionName: "patients", name: "late", updated: "2026-11-30 10:00:01.000Z" } });
  // Two updates of one record, the newer first.
  await strategy.apply({ topic: "patients/*", action: "update", record: { id: "p2", collectionName: "patients", name: "second", updated: "2026-11-30 10:00:02.000Z" } });
  await strategy.apply({ topic: "patients/*", action: "update", record: { id: "p2", collectionName: "patients", name: "first", updated: "2026-11-30 10:00:01.000Z" } });
  await settle();

  expect(queryClient.getQueryData(["patients", "detail", "p1"])).toBeNull();
  expect((queryClient.getQueryData(["patients", "detail", "p2"]) as { name: string }).name).toBe("second");
  unsubscribe.forEach((u) => u());
});

it("applies the changes of a record created again with a deleted record's id", async () => {
  const strategy = createCacheStrategy(queryClient, { coalesceMs: windowMs });
  const unsubscribe = new QueryObserver(queryClient, { queryKey: ["patients", "detail", "p1"], queryFn: async () => ({ id: "p1", name: "fetched" }) }).subscribe(() => {});
  await settle();

  await strategy.apply({ topic: "patients/*", action: "delete", record: { id: "p1", collectionName: "patients" } });
  // PocketBase allows custom ids: the same id created again, then changed.
  await strategy.apply({ topic: "patients/*", action: "create", record: { id: "p1", collectionName: "patients", name: "again" } });
  await strategy.apply({ topic: "patients/*", action: "update", record: { id: "p1", collectionName: "patients", name: "changed" } });
  await settle();

  expect((queryClient.getQueryData(["patients", "detail", "p1"]) as { name: string }).name).toBe("changed");
  unsubscribe();
});
