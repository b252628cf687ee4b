/** Query keys in the PocketBase + TanStack Query convention the cache strategy relies on. */
export const relayKeys = {
  all: (collection: string) => [collection] as const,
  lists: (collection: string) => [collection, "list"] as const,
  detail: (collection: string, id: string) => [collection, "detail", id] as const,
};
