// Reads through the official PocketBase JS SDK (the app's own instance: direct, or in BFF mode one pointed at Relay's
// origin), as TanStack Query option objects keyed so the cache strategy finds them.
import type PocketBase from "pocketbase";
import type { RecordModel } from "pocketbase";
import type { RelayClient } from "./client.js";
import { relayKeys } from "./keys.js";

/** PocketBase list options; `page` asks for that one page (a `ListResult`), otherwise every page is fetched. */
export interface CollectionQuery {
  filter?: string;
  sort?: string;
  expand?: string;
  fields?: string;
  /** Ask for one page: the query's data is then PocketBase's `ListResult` (`items`, `page`, `totalItems`, ...). */
  page?: number;
  /** Page size: of the page asked for, or of each request of a full list. Default 500 (PocketBase caps it at 500). */
  perPage?: number;
}

/**
 * Options for `useQuery`/`createQuery` reading a whole collection (every page, not just the first 200), keyed
 * `[collection, "list", query]`. Spread them and extend with `select`, `staleTime`, `enabled`, ...
 */
export function collectionQueryOptions<T = RecordModel>(pb: PocketBase, collection: string, query: Omit<CollectionQuery, "page"> = {}) {
  const { perPage, ...rest } = query;
  return {
    queryKey: [...relayKeys.lists(collection), query] as const,
    // requestKey null: the SDK's auto-cancellation would cancel TanStack's concurrent fetches of other lists.
    queryFn: ({ signal }: { signal?: AbortSignal }) => pb.collection(collection).getFullList<T>({ ...clean(rest), batch: perPage ?? 500, signal, requestKey: null }),
  };
}

/** Options for one page of a collection (`ListResult<T>`), keyed `[collection, "list", {...query, page, perPage}]`. */
export function pageQueryOptions<T = RecordModel>(pb: PocketBase, collection: string, query: CollectionQuery & { page: number }) {
  const { page, perPage = 30, ...rest } = query;
  return {
    queryKey: [...relayKeys.lists(collection), { ...query, perPage }] as const,
    queryFn: ({ signal }: { signal?: AbortSignal }) => pb.collection(collection).getList<T>(page, perPage, { ...clean(rest), signal, requestKey: null }),
  };
}

/** Options for one record, keyed `[collection, "detail", id]`; the data is `null` once the record is gone (404). */
export function recordQueryOptions<T = RecordModel>(pb: PocketBase, collection: string, id: string, query: { expand?: string; fields?: string } = {}) {
  return {
    queryKey: relayKeys.detail(collection, id),
    queryFn: async ({ signal }: { signal?: AbortSignal }): Promise<T | null> => {
      try {
        return await pb.collection(collection).getOne<T>(id, { ...clean(query), signal, requestKey: null });
      } catch (error) {
        if ((error as { status?: number }).status === 404) return null;
        throw error;
      }
    },
  };
}

/**
 * Keeps Relay on the PocketBase SDK's auth: a refreshed token of the same user is handed over with `reauthenticate`
 * (no reconnect); another user, or a logout, reconnects with the new identity. Returns the function that unhooks it.
 */
export function bindAuth(pb: PocketBase, relay: RelayClient): () => void {
  let user = pb.authStore.record?.id ?? null;
  return pb.authStore.onChange((token, record) => {
    const next = token ? (record?.id ?? null) : null;
    const same = next !== null && next === user;
    user = next;
    if (same && relay.state === "connected") {
      relay.reauthenticate(token).catch(() => reconnect(relay));
    } else if (!same && relay.state !== "disconnected") {
      void reconnect(relay);
    }
  });
}

async function reconnect(relay: RelayClient): Promise<void> {
  await relay.stop();
  await relay.start().catch(() => {});
}

function clean<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as T;
}
