"use client";
import { createContext, useContext, useEffect, useSyncExternalStore } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type PocketBase from "pocketbase";
import type { RecordModel } from "pocketbase";
import type { ConnectionState, RelayClient } from "./client.js";
import { collectionQueryOptions, pageQueryOptions, recordQueryOptions, type CollectionQuery } from "./pocketbase.js";
import { syncQueryClient, type SyncOptions } from "./tanstack.js";
import { createRecordMutation, deleteRecordMutation, updateRecordMutation, type WriteOptions } from "./writes.js";

export interface RelayContextValue {
  relay: RelayClient;
  /** The app's PocketBase SDK instance (in BFF mode, one pointed at Relay's origin). */
  pb: PocketBase;
}

/** Provide `{ relay, pb }` once, above the components that use the hooks. */
export const RelayContext = createContext<RelayContextValue | null>(null);

/** The `{ relay, pb }` of the nearest `RelayContext.Provider`. */
export function useRelay(): RelayContextValue {
  const value = useContext(RelayContext);
  if (!value) throw new Error("Wrap the app in <RelayContext.Provider value={{ relay, pb }}>.");
  return value;
}

/** Extra query options (`select`, `staleTime`, `enabled`, ...) merged over the hooks' own. */
type Extend = Record<string, unknown>;

/** A whole collection (every page) as a TanStack query keyed `[name, "list", query]`. */
export function useCollection<T = RecordModel>(name: string, query: Omit<CollectionQuery, "page"> = {}, extend?: Extend) {
  const { pb } = useRelay();
  return useQuery({ ...collectionQueryOptions<T>(pb, name, query), ...extend });
}

/** One page of a collection (`ListResult<T>`), keyed `[name, "list", {...query, page, perPage}]`. */
export function usePage<T = RecordModel>(name: string, query: CollectionQuery & { page: number }, extend?: Extend) {
  const { pb } = useRelay();
  return useQuery({ ...pageQueryOptions<T>(pb, name, query), ...extend });
}

/** One record as a TanStack query keyed `[name, "detail", id]`; `null` once the record is gone. */
export function useRecord<T = RecordModel>(name: string, id: string | undefined, extend?: Extend) {
  const { pb } = useRelay();
  return useQuery({ ...recordQueryOptions<T>(pb, name, id ?? ""), enabled: !!id, ...extend });
}

/** While the calling component is mounted, applies Relay's events for `name/*` to the query cache. */
export function useRealtimeCollection(name: string, options?: SyncOptions): void {
  const { relay } = useRelay();
  const queryClient = useQueryClient();
  useEffect(() => {
    const stop = syncQueryClient(relay, queryClient, [`${name}/*`], options);
    return () => void stop();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- options are read once per subscription
  }, [relay, queryClient, name]);
}

/** Creates records with an optimistic row that the realtime echo reconciles; rolled back if PocketBase refuses. */
export function useCreateRecord<T extends { id: string } = RecordModel>(name: string, options?: WriteOptions<T>) {
  const { pb } = useRelay();
  const queryClient = useQueryClient();
  return useMutation(createRecordMutation<T>(queryClient, pb, name, options));
}

/** Updates records (`{ id, ...changes }`) optimistically; rolled back if PocketBase refuses. */
export function useUpdateRecord<T extends { id: string } = RecordModel>(name: string) {
  const { pb } = useRelay();
  const queryClient = useQueryClient();
  return useMutation(updateRecordMutation<T>(queryClient, pb, name));
}

/** Deletes records (by id) optimistically; put back if PocketBase refuses. */
export function useDeleteRecord<T extends { id: string } = RecordModel>(name: string) {
  const { pb } = useRelay();
  const queryClient = useQueryClient();
  return useMutation(deleteRecordMutation<T>(queryClient, pb, name));
}

/** The connection's state, re-rendered from `onStateChange` (no polling). */
export function useConnectionState(): ConnectionState {
  const { relay } = useRelay();
  return useSyncExternalStore(
    (notify) => relay.onStateChange(() => notify()),
    () => relay.state,
    () => relay.state,
  );
}
