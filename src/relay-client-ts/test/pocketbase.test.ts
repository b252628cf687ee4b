// The read helpers on the real PocketBase through the official SDK, and bindAuth on a stand-in client.
import { QueryClient } from "@tanstack/query-core";
import PocketBase, { BaseAuthStore } from "pocketbase";
import { expect, inject, it } from "vitest";
import type { RelayClient } from "../src/client.js";
import { bindAuth, collectionQueryOptions, pageQueryOptions, recordQueryOptions } from "../src/pocketbase.js";

const pocketBase = inject("pocketBase");
const accounts = inject("accounts");

function reader(): PocketBase {
  const pb = new PocketBase(pocketBase, new BaseAuthStore());
  pb.authStore.save(accounts.bob.token, { id: accounts.bob.id } as never);
  return pb;
}

it("reads a whole collection across pages, one page when asked, and one record (null when gone)", async () => {
  const writer = new PocketBase(pocketBase, new BaseAuthStore());
  writer.authStore.save(accounts.writer.token, { id: accounts.writer.id } as never);
  const tag = `paging${Date.now()}`;
  for (let i = 0; i < 23; i++) await writer.collection("board").create({ name: `${tag} ${String(i).padStart(2, "0")}`, owner: accounts.writer.id });

  const pb = reader();
  const queryClient = new QueryClient();
  const all = await queryClient.fetchQuery(collectionQueryOptions<{ id: string; name: string }>(pb, "board", { filter: `name ~ "${tag}"`, sort: "name", perPage: 5 }));
  expect(all.map((r) => r.name)).toEqual(Array.from({ length: 23 }, (_, i) => `${tag} ${String(i).padStart(2, "0")}`));

  const options = pageQueryOptions<{ id: string; name: string }>(pb, "board", { filter: `name ~ "${tag}"`, sort: "name", page: 2, perPage: 10 });
  expect(options.queryKey).toEqual(["board", "list", { filter: `name ~ "${tag}"`, sort: "name", page: 2, perPage: 10 }]);
  const page = await queryClient.fetchQuery(options);
  expect(page.items.map((r) => r.name)).toEqual(all.slice(10, 20).map((r) => r.name));
  expect(page.totalItems).toBe(23);

  expect(await queryClient.fetchQuery(recordQueryOptions(pb, "board", all[0].id))).toMatchObject({ id: all[0].id });
  await writer.collection("board").delete(all[0].id);
  expect(await new QueryClient().fetchQuery(recordQueryOptions(pb, "board", all[0].id))).toBeNull();
});

it("bindAuth hands a refreshed token of the same user to Relay and reconnects for another user or a logout", async () => {
  const calls: string[] = [];
  const relay = {
    state: "connected",
    reauthenticate: async (token: string) => void calls.push(`reauthenticate ${token}`),
    stop: async () => void calls.push("stop"),
    start: async () => void calls.push("start"),
  } as unknown as RelayClient;
  const pb = new PocketBase(pocketBase, new BaseAuthStore());
  pb.authStore.save("token-1", { id: "alice" } as never);
  const unbind = bindAuth(pb, relay);

  pb.authStore.save("token-2", { id: "alice" } as never);
  await new Promise((r) => setTimeout(r, 0));
  expect(calls).toEqual(["reauthenticate token-2"]);

  pb.authStore.save("token-3", { id: "bob" } as never);
  await new Promise((r) => setTimeout(r, 0));
  pb.authStore.clear();
  await new Promise((r) => setTimeout(r, 0));
  expect(calls).toEqual(["reauthenticate token-2", "stop", "start", "stop", "start"]);

  unbind();
  pb.authStore.save("token-4", { id: "bob" } as never);
  expect(calls).toHaveLength(5);
});
