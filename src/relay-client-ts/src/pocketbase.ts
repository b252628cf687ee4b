/** Where the app's data comes from: PocketBase's REST API, read with the user's token. */
export interface PocketBaseSource {
  /** PocketBase's base URL, e.g. `http://127.0.0.1:8090`. */
  url: string;
  /** The user's current token, or null for a guest. */
  token: () => string | null | undefined;
}

/** List options passed to PocketBase's `GET /api/collections/{name}/records`. */
export interface ListOptions {
  filter?: string;
  sort?: string;
  expand?: string;
  perPage?: number;
}

async function get(source: PocketBaseSource, path: string, signal?: AbortSignal): Promise<Response> {
  const token = source.token();
  return fetch(source.url.replace(/\/$/, "") + path, { headers: token ? { authorization: token } : {}, signal });
}

/** One page of a collection's records (the items). */
export async function fetchList<T = Record<string, unknown>>(source: PocketBaseSource, collection: string, options: ListOptions = {}, signal?: AbortSignal): Promise<T[]> {
  const query = new URLSearchParams({ perPage: String(options.perPage ?? 200) });
  if (options.filter) query.set("filter", options.filter);
  if (options.sort) query.set("sort", options.sort);
  if (options.expand) query.set("expand", options.expand);
  const response = await get(source, `/api/collections/${encodeURIComponent(collection)}/records?${query}`, signal);
  if (!response.ok) throw new Error(`PocketBase list ${collection}: ${response.status}`);
  return (await response.json()).items as T[];
}

/** One record, or null when it does not exist (or is not visible to the user). */
export async function fetchRecord<T = Record<string, unknown>>(source: PocketBaseSource, collection: string, id: string, signal?: AbortSignal): Promise<T | null> {
  const response = await get(source, `/api/collections/${encodeURIComponent(collection)}/records/${encodeURIComponent(id)}`, signal);
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`PocketBase view ${collection}/${id}: ${response.status}`);
  return (await response.json()) as T;
}
