import { createContext, onCleanup, onMount, useContext } from "solid-js";
import { createQuery, useQueryClient } from "@tanstack/solid-query";
import type { RelayClient } from "./index.js";
import { fetchList, fetchRecord, type ListOptions, type PocketBaseSource } from "./pocketbase.js";
import { relayKeys, syncQueryClient } from "./tanstack.js";

export interface RelayContextValue {
  relay: RelayClient;
  pocketBase: PocketBaseSource;
}

/** Provide `{ relay, pocketBase }` once, above the components that use the helpers. */
export const RelayContext = createContext<RelayContextValue>();

function useRelayContext(): RelayContextValue {
  const value = useContext(RelayContext);
  if (!value) throw new Error("Wrap the app in <RelayContext.Provider value={{ relay, pocketBase }}>.");
  return value;
}

/** A collection's list as a TanStack query, keyed `[name, 'list', options]` so the cache strategy invalidates it. */
export function useCollection<T = Record<string, unknown>>(name: string, options: () => ListOptions = () => ({})) {
  const { pocketBase } = useRelayContext();
  return createQuery(() => ({
    queryKey: [...relayKeys.lists(name), options()],
    queryFn: ({ signal }) => fetchList<T>(pocketBase, name, options(), signal),
  }));
}

/** One record as a TanStack query, keyed `[name, 'detail', id]`; `null` once the record is gone. */
export function useRecord<T = Record<string, unknown>>(name: string, id: () => string | undefined) {
  const { pocketBase } = useRelayContext();
  return createQuery(() => ({
    queryKey: relayKeys.detail(name, id() ?? ""),
    queryFn: ({ signal }) => fetchRecord<T>(pocketBase, name, id()!, signal),
    enabled: !!id(),
  }));
}

/** While the calling component is mounted, applies Relay's events for `name/*` to the query cache. */
export function useRealtimeCollection(name: string): void {
  const { relay } = useRelayContext();
  const queryClient = useQueryClient();
  let stop: (() => Promise<void>) | undefined;
  let disposed = false;
  onMount(() => {
    void syncQueryClient(relay, queryClient, [`${name}/*`]).then((s) => {
      if (disposed) void s();
      else stop = s;
    });
  });
  onCleanup(() => {
    disposed = true;
    void stop?.();
  });
}
