import type { QueryClient } from "@tanstack/query-core";
import type { RelayClient, RelaySubscription } from "./client.js";
import type { RelayError } from "./errors.js";
import { relayKeys } from "./keys.js";
import { keepExpand, removeRow, replaceRow } from "./lists.js";
import type { RelayEvent, ResyncSignal, SubscriptionOptions } from "./protocol.js";
import { ownWrites } from "./writes.js";

export { relayKeys } from "./keys.js";

export interface CacheStrategyOptions {
  /** After a list invalidation, further ones of the same collection are gathered this long (ms). Default 50. */
  coalesceMs?: number;
}

/**
 * Applies Relay's events to a TanStack `QueryClient`, with the race rules measured on TanStack Query v5 (an updated
 * record is replaced and a deleted one removed in cached lists at once, before their refetch):
 * cancel a detail's fetch in flight before setting a pushed record (an older response would overwrite it); on
 * delete, set an observed detail to `null` (removing a mounted query leaves the record on screen) and remove only
 * unobserved ones; keep `expand` (event records carry none); coalesce list invalidations per collection. The echo of
 * the app's own write (see `createRecordMutation` & co.) is applied to the cached lists in place instead: the
 * optimistic row already stands there under the same id, so nothing is duplicated and no list is refetched.
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

  const writes = ownWrites(queryClient);

  // PocketBase sends each event from its own goroutine, so rapid changes of one record can arrive out of order (seen on
  // 0.22.20: a delete, then the update written before it). Nothing refetches a detail, so a stale event would stay:
  // an update after its record's delete is dropped (bounded memory of recent deletes; a create of the same id forgets
  // it, PocketBase allowing custom ids), and so is an update older than the cached record (PocketBase's `updated`).
  const deleted = new Set<string>();
  const rememberDeleted = (key: string) => {
    deleted.add(key);
    if (deleted.size > 10_000) deleted.delete(deleted.values().next().value as string);
  };
  const isStale = (cached: unknown, record: RelayEvent["record"]) => {
    const before = (cached as { updated?: unknown } | null | undefined)?.updated;
    const after = (record as { updated?: unknown }).updated;
    return typeof before === "string" && typeof after === "string" && after < before;
  };

  async function apply(event: RelayEvent): Promise<void> {
    const collection = event.record.collectionName ?? event.topic.split("/")[0];
    const id = event.record.id;
    if (event.action === "create") deleted.delete(`${collection}/${id}`);
    if (writes.isEcho(collection, id, event.action)) {
      reconcile(collection, event);
      return;
    }
    if (event.action === "update" || event.action === "delete") {
      const key = relayKeys.detail(collection, id);
      const tombstone = `${collection}/${id}`;
      if (event.action === "delete") rememberDeleted(tombstone);
      else if (deleted.has(tombstone) || isStale(queryClient.getQueryData(key), event.record)) {
        // Overtaken by a later change that is already applied; the list refetch below still settles the lists.
        scheduleListInvalidation(collection);
        return;
      }
      await queryClient.cancelQueries({ queryKey: key, exact: true });
      if (event.action === "update") {
        if (deleted.has(tombstone) || isStale(queryClient.getQueryData(key), event.record)) {
          // A later change was applied while this one waited for the cancellation.
          scheduleListInvalidation(collection);
          return;
        }
        queryClient.setQueryData(key, keepExpand(queryClient.getQueryData(key), event.record));
        // Shown in every cached list at once; the refetch below still settles order and filters.
        queryClient.setQueriesData({ queryKey: relayKeys.lists(collection) }, (data: unknown) => replaceRow(data, event.record));
      } else {
        const query = queryClient.getQueryCache().find({ queryKey: key, exact: true });
        if (query && query.getObserversCount() > 0) {
          queryClient.setQueryData(key, null);
        } else {
          queryClient.removeQueries({ queryKey: key, exact: true });
        }
        // A deleted record belongs to no list: gone at once, without waiting for the refetch.
        queryClient.setQueriesData({ queryKey: relayKeys.lists(collection) }, (data: unknown) => removeRow(data, id));
      }
    }

    scheduleListInvalidation(collection);
  }

  /** The app's own write came back: put the server's record where the optimistic one stands. */
  function reconcile(collection: string, event: RelayEvent): void {
    const lists = { queryKey: relayKeys.lists(collection) };
    const key = relayKeys.detail(collection, event.record.id);
    if (event.action === "delete") {
      queryClient.setQueriesData(lists, (data: unknown) => removeRow(data, event.record.id));
      if (queryClient.getQueryData(key) !== undefined) queryClient.setQueryData(key, null);
      return;
    }
    queryClient.setQueriesData(lists, (data: unknown) => replaceRow(data, event.record));
    if (event.action === "update" || queryClient.getQueryData(key) !== undefined) {
      queryClient.setQueryData(key, keepExpand(queryClient.getQueryData(key), event.record));
    }
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

export interface SyncOptions extends CacheStrategyOptions {
  /** Options of every topic's subscription (PocketBase `expand`, `fields`, `filter`). */
  subscription?: SubscriptionOptions;
  /** Called when Relay refuses a topic for good (it is then not synced). Default: `console.error`. */
  onError?: (error: RelayError) => void;
}

/**
 * Subscribes `topics` at once — in one `SubscribeMany` with everything else mounted in the same tick — and keeps
 * `queryClient` in line with them, resyncs included. Returns the function that stops syncing; `ready` settles when
 * Relay holds every topic (topics refused with `rate_limited` are retried meanwhile), `strategy` is the cache strategy.
 */
export function syncQueryClient(relay: RelayClient, queryClient: QueryClient, topics: string[], options: SyncOptions = {}) {
  const strategy = createCacheStrategy(queryClient, options);
  const held = new Set(topics);
  const stopResync = relay.onResync((signal) => {
    const mine = signal.topics.filter((topic) => held.has(topic));
    if (mine.length > 0) void strategy.resync({ ...signal, topics: mine });
  });
  const report = options.onError ?? ((error: RelayError) => console.error(`relay: ${error.topic} is not synced: ${error.message}`));
  const subscriptions: RelaySubscription[] = topics.map((topic) => relay.watch(topic, (event) => void strategy.apply(event), options.subscription));
  const ready = Promise.all(
    subscriptions.map((s) =>
      s.ready.catch((error: RelayError) => {
        if (error.code !== "unsubscribed") report(error);
        throw error;
      }),
    ),
  ).then(() => undefined);
  ready.catch(() => {});

  return Object.assign(
    async () => {
      stopResync();
      await Promise.all(subscriptions.map((s) => s.close()));
    },
    { strategy, ready },
  );
}

export { createRecordMutation, deleteRecordMutation, newRecordId, ownWrites, updateRecordMutation, type WriteOptions } from "./writes.js";
