// The writer's path: create/update/delete through the PocketBase SDK as TanStack mutation options with optimistic
// cache updates, rolled back on error, and reconciled with the realtime echo of the write by the cache strategy.
import type { QueryClient } from "@tanstack/query-core";
import type PocketBase from "pocketbase";
import { relayKeys } from "./keys.js";
import { findRow, insertRow, keepExpand, removeRow, replaceRow, restoreRow } from "./lists.js";

type Row = { id: string };
type Action = "create" | "update" | "delete";

interface OwnWrite {
  action: Action;
  /** PocketBase has it (the response or the echo came): lists fetched from now on contain it. */
  confirmed: boolean;
  /** Re-applies the optimistic change to list data fetched before the write was confirmed. */
  apply: (data: unknown) => unknown;
  timer?: ReturnType<typeof setTimeout>;
}

/** How long after confirmation a write's realtime echo is still recognised as its own (ms). */
const ECHO_GRACE_MS = 3_000;

/**
 * The app's own writes in flight, per QueryClient: the cache strategy asks it whether an event is the echo of one
 * (then the cache is reconciled in place: no duplicate row, no list refetch).
 */
export class OwnWrites {
  private readonly writes = new Map<string, OwnWrite>();

  constructor(private readonly queryClient: QueryClient) {
    // A list refetched while a write is unconfirmed (another user's change invalidated it) does not hold the write
    // yet: apply it on top, so the writer's row does not blink out and back.
    queryClient.getQueryCache().subscribe((event) => {
      if (event.type !== "updated" || event.action.type !== "success" || event.action.manual) return;
      const [collection, kind] = event.query.queryKey as unknown[];
      if (kind !== "list" || typeof collection !== "string") return;
      for (const [key, write] of this.writes) {
        if (!write.confirmed && key.startsWith(`${collection}/`)) queryClient.setQueryData(event.query.queryKey, write.apply);
      }
    });
  }

  begin(collection: string, id: string, action: Action, apply: (data: unknown) => unknown): void {
    this.cancel(collection, id);
    this.writes.set(`${collection}/${id}`, { action, confirmed: false, apply });
  }

  /** PocketBase holds the write; its echo is still recognised for a grace period. */
  confirm(collection: string, id: string): void {
    const key = `${collection}/${id}`;
    const write = this.writes.get(key);
    if (!write || write.confirmed) return;
    write.confirmed = true;
    write.timer = setTimeout(() => {
      if (this.writes.get(key) === write) this.writes.delete(key);
    }, ECHO_GRACE_MS);
  }

  cancel(collection: string, id: string): void {
    const key = `${collection}/${id}`;
    clearTimeout(this.writes.get(key)?.timer);
    this.writes.delete(key);
  }

  /** Whether an event is the echo of the app's own write of `id`; if so, that write counts as confirmed. */
  isEcho(collection: string, id: string, action: Action): boolean {
    const write = this.writes.get(`${collection}/${id}`);
    if (!write || write.action !== action) return false;
    this.confirm(collection, id);
    return true;
  }
}

const registries = new WeakMap<QueryClient, OwnWrites>();

/** The own-write registry of `queryClient` (one per client). */
export function ownWrites(queryClient: QueryClient): OwnWrites {
  let registry = registries.get(queryClient);
  if (!registry) registries.set(queryClient, (registry = new OwnWrites(queryClient)));
  return registry;
}

/** A PocketBase record id (15 characters of a-z0-9), made in the client so the optimistic row and the server's agree. */
export function newRecordId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

export interface WriteOptions<T> {
  /** Where an optimistically created record goes in cached lists (e.g. by name). Default: at the end. */
  compare?: (a: T, b: T) => number;
}

/** Cancels list fetches in flight (their older answer would overwrite the optimistic change); true when one was. */
async function cancelLists(queryClient: QueryClient, collection: string): Promise<boolean> {
  const interrupted = queryClient.isFetching({ queryKey: relayKeys.lists(collection) }) > 0;
  await queryClient.cancelQueries({ queryKey: relayKeys.lists(collection) });
  return interrupted;
}

/** A cancelled fetch may have been bringing someone else's change: fetch it again once the write settled. */
function refetchInterrupted(queryClient: QueryClient, collection: string, context: { interrupted?: boolean } | undefined): Promise<void> | void {
  if (context?.interrupted) return queryClient.invalidateQueries({ queryKey: relayKeys.lists(collection) });
}

/**
 * Mutation options that create a record in `collection`: every cached list shows it at once (with its final id,
 * made here unless given), it is removed again if PocketBase refuses, and its realtime echo replaces it in place.
 * Spread into `useMutation`/`createMutation` and extend (`mutationKey`, `meta`, `retry`, ...).
 */
export function createRecordMutation<T extends Row = Row & Record<string, unknown>>(queryClient: QueryClient, pb: PocketBase, collection: string, options: WriteOptions<T> = {}) {
  const writes = ownWrites(queryClient);
  return {
    mutationFn: (variables: Partial<T>) => pb.collection(collection).create<T>(variables, { requestKey: null }),
    onMutate: async (variables: Partial<T>) => {
      // The id is put into the variables, so the request creates the record the optimistic row already shows.
      const id = ((variables as Row).id ??= newRecordId());
      const now = new Date().toISOString().replace("T", " ");
      const optimistic = { collectionName: collection, created: now, updated: now, ...variables, id } as unknown as T;
      const interrupted = await cancelLists(queryClient, collection);
      const apply = (data: unknown) => insertRow<T>(data, optimistic, options.compare);
      writes.begin(collection, id, "create", apply);
      queryClient.setQueriesData({ queryKey: relayKeys.lists(collection) }, apply);
      return { id, interrupted };
    },
    onSuccess: (record: T) => {
      queryClient.setQueriesData({ queryKey: relayKeys.lists(collection) }, (data: unknown) => replaceRow<T>(data, record));
      queryClient.setQueryData(relayKeys.detail(collection, record.id), record);
      writes.confirm(collection, record.id);
    },
    onError: (_error: Error, _variables: Partial<T>, context: { id: string } | undefined) => {
      if (!context) return;
      writes.cancel(collection, context.id);
      queryClient.setQueriesData({ queryKey: relayKeys.lists(collection) }, (data: unknown) => removeRow<T>(data, context.id));
      queryClient.removeQueries({ queryKey: relayKeys.detail(collection, context.id), exact: true });
    },
    onSettled: (_data: unknown, _error: Error | null, _variables: unknown, context: { interrupted?: boolean } | undefined) => refetchInterrupted(queryClient, collection, context),
  };
}

/**
 * Mutation options that update a record (`{ id, ...changes }`): cached lists and the record's detail show the
 * changes at once, go back to the previous record if PocketBase refuses, and take the server's record from the
 * response or the realtime echo, whichever comes first.
 */
export function updateRecordMutation<T extends Row = Row & Record<string, unknown>>(queryClient: QueryClient, pb: PocketBase, collection: string) {
  const writes = ownWrites(queryClient);
  const detailKey = (id: string) => relayKeys.detail(collection, id);
  return {
    mutationFn: ({ id, ...changes }: Partial<T> & Row) => pb.collection(collection).update<T>(id, changes, { requestKey: null }),
    onMutate: async (variables: Partial<T> & Row) => {
      const { id } = variables;
      const interrupted = await cancelLists(queryClient, collection);
      await queryClient.cancelQueries({ queryKey: detailKey(id), exact: true });
      const previousDetail = queryClient.getQueryData<T | null>(detailKey(id));
      const previousRows = queryClient.getQueriesData({ queryKey: relayKeys.lists(collection) }).flatMap(([key, data]) => {
        const found = findRow<T>(data, id);
        return found ? [{ key, row: found.row }] : [];
      });
      const apply = (data: unknown) => {
        const found = findRow<T>(data, id);
        return found ? replaceRow<T>(data, { ...found.row, ...variables }) : data;
      };
      writes.begin(collection, id, "update", apply);
      queryClient.setQueriesData({ queryKey: relayKeys.lists(collection) }, apply);
      if (previousDetail) queryClient.setQueryData(detailKey(id), { ...previousDetail, ...variables });
      return { id, interrupted, previousDetail, previousRows };
    },
    onSuccess: (record: T) => {
      queryClient.setQueriesData({ queryKey: relayKeys.lists(collection) }, (data: unknown) => replaceRow<T>(data, record));
      if (queryClient.getQueryData(detailKey(record.id)) !== undefined) {
        queryClient.setQueryData(detailKey(record.id), (current: unknown) => keepExpand(current, record));
      }
      writes.confirm(collection, record.id);
    },
    onError: (_error: Error, _variables: unknown, context: { id: string; previousDetail?: T | null; previousRows: Array<{ key: readonly unknown[]; row: T }> } | undefined) => {
      if (!context) return;
      writes.cancel(collection, context.id);
      for (const { key, row } of context.previousRows) queryClient.setQueryData(key, (data: unknown) => replaceRow<T>(data, row));
      if (context.previousDetail !== undefined) queryClient.setQueryData(detailKey(context.id), context.previousDetail);
    },
    onSettled: (_data: unknown, _error: Error | null, _variables: unknown, context: { interrupted?: boolean } | undefined) => refetchInterrupted(queryClient, collection, context),
  };
}

/**
 * Mutation options that delete a record (the variables are its id): it leaves every cached list at once, its
 * detail becomes `null`, and both come back where they were if PocketBase refuses.
 */
export function deleteRecordMutation<T extends Row = Row & Record<string, unknown>>(queryClient: QueryClient, pb: PocketBase, collection: string) {
  const writes = ownWrites(queryClient);
  const detailKey = (id: string) => relayKeys.detail(collection, id);
  return {
    mutationFn: (id: string) => pb.collection(collection).delete(id, { requestKey: null }),
    onMutate: async (id: string) => {
      const interrupted = await cancelLists(queryClient, collection);
      await queryClient.cancelQueries({ queryKey: detailKey(id), exact: true });
      const previousDetail = queryClient.getQueryData<T | null>(detailKey(id));
      const previousRows = queryClient.getQueriesData({ queryKey: relayKeys.lists(collection) }).flatMap(([key, data]) => {
        const found = findRow<T>(data, id);
        return found ? [{ key, ...found }] : [];
      });
      const apply = (data: unknown) => removeRow<T>(data, id);
      writes.begin(collection, id, "delete", apply);
      queryClient.setQueriesData({ queryKey: relayKeys.lists(collection) }, apply);
      if (previousDetail !== undefined) queryClient.setQueryData(detailKey(id), null);
      return { id, interrupted, previousDetail, previousRows };
    },
    onSuccess: (_ok: boolean, id: string) => writes.confirm(collection, id),
    onError: (_error: Error, _id: string, context: { id: string; previousDetail?: T | null; previousRows: Array<{ key: readonly unknown[]; row: T; index: number }> } | undefined) => {
      if (!context) return;
      writes.cancel(collection, context.id);
      for (const { key, row, index } of context.previousRows) queryClient.setQueryData(key, (data: unknown) => restoreRow<T>(data, row, index));
      if (context.previousDetail !== undefined) queryClient.setQueryData(detailKey(context.id), context.previousDetail);
    },
    onSettled: (_data: unknown, _error: Error | null, _variables: unknown, context: { interrupted?: boolean } | undefined) => refetchInterrupted(queryClient, collection, context),
  };
}
