import type { QueryClient } from "@tanstack/query-core";
import type { RelayClient, RelayEvent, ResyncSignal } from "./index.js";

/** Query keys in the PocketBase + TanStack Query convention. */
export const relayKeys = {
  all: (collection: string) => [collection] as const,
  lists: (collection: string) => [collection, "list"] as const,
  detail: (collection: string, id: string) => [collection, "detail", id] as const,
};

export interface CacheStrategyOptions {
  /** After a list invalidation, further ones of the same collection are gathered this long (ms). Default 50. */
  coalesceMs?: number;
}

/**
 * Applies Relay's events to a TanStack `QueryClient`, with the race rules measured on TanStack Query v5:
 * cancel a detail's fetch in flight before setting a pushed record (an older response would overwrite it); on
 * delete, set an observed detail to `null` (removing a mounted query leaves the record on screen) and remove only
 * unobserved ones; keep `expand` (event records carry none); coalesce list invalidations per collection.
 */
export function createCacheStrategy(queryClient: QueryClient, options: CacheStrategyOptions = {}) {
  const coalesceMs = options.coalesceMs ?? 50;
  // One open window per collection: `dirty` when events arrived after its last invalidation; `done` settles when it closes.
  const windows = new Map<string, { dirty: boolean; done: Promise<void> }>();

  /**
   * The first event of a quiet period invalidates the collection's lists at once (a lone change costs no delay);
   * events within the next `coalesceMs` are gathered into one more invalidation at the window's end, repeated while
   * events keep coming. A burst of N events costs about two refetches per list, and the last one starts after the
   * last event.
   */
  function scheduleListInvalidation(collection: string): void {
    const open = windows.get(collection);
    if (open) {
      open.dirty = true;
      return;
    }

    const opened = { dirty: false, done: Promise.resolve() };
    windows.set(collection, opened);
    opened.done = (async () => {
      try {
        for (;;) {
          await queryClient.invalidateQueries({ queryKey: relayKeys.lists(collection) });
          await new Promise((resolve) => setTimeout(resolve, coalesceMs));
          if (!opened.dirty) break;
          opened.dirty = false;
        }
      } finally {
        windows.delete(collection);
      }
    })();
  }

  async function apply(event: RelayEvent): Promise<void> {
    const collection = (event.record.collectionName as string | undefined) ?? event.topic.split("/")[0];
    const id = event.record.id;
    if (event.action === "update" || event.action === "delete") {
      const key = relayKeys.detail(collection, id);
      await queryClient.cancelQueries({ queryKey: key, exact: true });
      if (event.action === "update") {
        const current = queryClient.getQueryData<Record<string, unknown>>(key);
        const record = event.record as Record<string, unknown>;
        const merged = record.expand === undefined && current && typeof current === "object" && "expand" in current ? { ...record, expand: current.expand } : record;
        queryClient.setQueryData(key, merged);
      } else {
        const query = queryClient.getQueryCache().find({ queryKey: key, exact: true });
        if (query && query.getObserversCount() > 0) {
          queryClient.setQueryData(key, null);
        } else {
          queryClient.removeQueries({ queryKey: key, exact: true });
        }
      }
    }

    scheduleListInvalidation(collection);
  }

  async function resync(signal: ResyncSignal): Promise<void> {
    const collections = [...new Set(signal.topics.map((topic) => topic.split("/")[0]))];
    for (const collection of collections) {
      // Unobserved details may hold records changed or deleted in the gap, and nothing would refetch them.
      queryClient.removeQueries({ queryKey: [collection, "detail"], type: "inactive" });
    }
    await Promise.all(collections.map((collection) => queryClient.invalidateQueries({ queryKey: relayKeys.all(collection) })));
  }

  return { apply, resync, flush: () => Promise.all([...windows.values()].map((w) => w.done)).then(() => undefined) };
}

/**
 * Subscribes `topics` and keeps `queryClient` in line with them, resyncs included. Resolves to a function that stops
 * syncing (unsubscribes).
 */
export async function syncQueryClient(relay: RelayClient, queryClient: QueryClient, topics: string[], options?: CacheStrategyOptions) {
  const strategy = createCacheStrategy(queryClient, options);
  const stopResync = relay.onResync((signal) => void strategy.resync(signal));
  const unsubscribes: Array<() => Promise<void>> = [];
  try {
    for (const topic of topics) {
      unsubscribes.push(await relay.subscribe(topic, (event) => void strategy.apply(event)));
    }
  } catch (error) {
    stopResync();
    await Promise.all(unsubscribes.map((u) => u()));
    throw error;
  }

  return Object.assign(
    async () => {
      stopResync();
      await Promise.all(unsubscribes.map((u) => u()));
    },
    { strategy },
  );
}
