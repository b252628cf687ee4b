// The list edits the cache strategy and the optimistic writes apply to cached list data, for both shapes a list query
// holds (a full list, a PocketBase page) and for data that is neither (left as it is).
import { describe, expect, it } from "vitest";
import { findRow, insertRow, removeRow, replaceRow, restoreRow } from "../src/lists.js";

type Item = { id: string; name: string; expand?: unknown };
const a: Item = { id: "a", name: "A" };
const b: Item = { id: "b", name: "B" };
const page = (items: Item[]) => ({ page: 1, perPage: 30, totalItems: items.length, totalPages: 1, items });

describe("list edits", () => {
  it("replace a row in a full list and in a page, keeping the cached expand", () => {
    const cached = { ...a, expand: { owner: { id: "u" } } };
    expect(replaceRow<Item>([cached, b], { id: "a", name: "A2" })).toEqual([{ id: "a", name: "A2", expand: { owner: { id: "u" } } }, b]);
    expect(replaceRow<Item>(page([a, b]), { id: "b", name: "B2" })).toEqual(page([a, { id: "b", name: "B2" }]));
  });

  it("insert a new row (sorted when asked) and count it in a page; an id already listed is not added twice", () => {
    const byName = (x: Item, y: Item) => x.name.localeCompare(y.name);
    expect(insertRow<Item>([b], a, byName)).toEqual([a, b]);
    expect(insertRow<Item>(page([a]), b)).toEqual({ ...page([a, b]), totalItems: 2 });
    const list = [a];
    expect(insertRow<Item>(list, a)).toBe(list);
  });

  it("remove a row and restore it where it was", () => {
    const removed = removeRow<Item>(page([a, b]), "a");
    expect(removed).toEqual({ ...page([b]), totalItems: 1 });
    expect(findRow<Item>(page([a, b]), "b")).toEqual({ row: b, index: 1 });
    expect(restoreRow<Item>(removed, a, 0)).toEqual({ ...page([a, b]), totalItems: 2 });
  });

  it("leave data that is not a list unchanged, and find nothing in it", () => {
    for (const data of [undefined, null, { items: "not a list" }, { id: "a" }, 42]) {
      expect(replaceRow<Item>(data, a)).toBe(data);
      expect(removeRow<Item>(data, "a")).toBe(data);
      expect(findRow<Item>(data, "a")).toBeUndefined();
    }
  });
});
