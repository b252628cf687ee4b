// Edits of cached list data in place, for both shapes a list query holds: an array of records (a full list) or
// PocketBase's ListResult (one page, `items`).
// The data is `unknown`: a list query caches whatever the app's query function returned, so the shape is checked here,
// and anything that is neither shape is passed through unchanged.
type Row = { id: string };
type Page<T extends Row> = { items: T[]; totalItems?: number };

function isPage<T extends Row>(data: unknown): data is Page<T> {
  return typeof data === "object" && data !== null && Array.isArray((data as { items?: unknown }).items);
}

function itemsOf<T extends Row>(data: unknown): T[] | undefined {
  return Array.isArray(data) ? (data as T[]) : isPage<T>(data) ? data.items : undefined;
}

function mapItems<T extends Row>(data: unknown, edit: (items: T[]) => T[], delta = 0): unknown {
  if (Array.isArray(data)) return edit(data as T[]);
  if (isPage<T>(data)) {
    const items = edit(data.items);
    if (items === data.items) return data;
    return { ...data, items, ...(typeof data.totalItems === "number" ? { totalItems: data.totalItems + delta } : {}) };
  }
  return data;
}

/** Replaces the row with `record.id` (keeping `expand` when the new record has none); unchanged when absent. */
export function replaceRow<T extends Row>(data: unknown, record: T): unknown {
  return mapItems<T>(data, (items) => {
    const at = items.findIndex((item) => item.id === record.id);
    if (at < 0) return items;
    const copy = items.slice();
    copy[at] = keepExpand(items[at], record);
    return copy;
  });
}

/** Adds `record` when its id is not listed yet (at the end, or where `compare` puts it). */
export function insertRow<T extends Row>(data: unknown, record: T, compare?: (a: T, b: T) => number): unknown {
  return mapItems<T>(
    data,
    (items) => {
      if (items.some((item) => item.id === record.id)) return items;
      const copy = [...items, record];
      return compare ? copy.sort(compare) : copy;
    },
    1,
  );
}

/** Removes the row with `id`; unchanged when absent. */
export function removeRow<T extends Row>(data: unknown, id: string): unknown {
  return mapItems<T>(data, (items) => (items.some((item) => item.id === id) ? items.filter((item) => item.id !== id) : items), -1);
}

/** The row with `id` and its index, if listed. */
export function findRow<T extends Row>(data: unknown, id: string): { row: T; index: number } | undefined {
  const items = itemsOf<T>(data);
  const index = items?.findIndex((item) => item.id === id) ?? -1;
  return items && index >= 0 ? { row: items[index], index } : undefined;
}

/** Puts `row` back at `index` (after a failed delete). */
export function restoreRow<T extends Row>(data: unknown, row: T, index: number): unknown {
  return mapItems<T>(
    data,
    (items) => {
      if (items.some((item) => item.id === row.id)) return items;
      const copy = items.slice();
      copy.splice(Math.min(index, copy.length), 0, row);
      return copy;
    },
    1,
  );
}

/** Event records carry no `expand`: keep the cached one rather than blank the relation on screen. */
export function keepExpand<T>(current: unknown, next: T): T {
  const record = next as Record<string, unknown>;
  if (record && record.expand === undefined && current && typeof current === "object" && "expand" in current) {
    return { ...record, expand: (current as Record<string, unknown>).expand } as T;
  }
  return next;
}
