// @vitest-environment jsdom
// Optimistic create/update/delete through the React helpers, against the real Relay and PocketBase: the writer's
// list changes before PocketBase has even been asked, is rolled back when PocketBase refuses, and the realtime echo
// of the write is reconciled without a duplicate row, a flicker or a list refetch.
import { createElement as h, act } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import PocketBase, { BaseAuthStore } from "pocketbase";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { RelayClient } from "../src/client.js";
import type { RelayEvent } from "../src/protocol.js";
import { RelayContext, useCollection, useCreateRecord, useDeleteRecord, useRealtimeCollection, useUpdateRecord } from "../src/react.js";
import { until, within } from "./fake-hub.js";

const relayUrl = inject("relay");
const pocketBaseUrl = inject("pocketBase");
const accounts = inject("accounts");
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

interface Item { id: string; name: string; owner: string }
const prefix = `w${Date.now()}`;
let mutations!: { create: ReturnType<typeof useCreateRecord<Item>>; update: ReturnType<typeof useUpdateRecord<Item>>; remove: ReturnType<typeof useDeleteRecord<Item>> };

function Board() {
  useRealtimeCollection("board");
  const items = useCollection<Item>("board", { sort: "created", filter: `name ~ "${prefix}"` });
  // eslint-disable-next-line react-hooks/globals -- the test drives the component's mutations from outside it
  mutations = { create: useCreateRecord<Item>("board"), update: useUpdateRecord<Item>("board"), remove: useDeleteRecord<Item>("board") };
  return h("ul", null, (items.data ?? []).map((item) => h("li", { key: item.id, "data-id": item.id }, item.name)));
}

let container: HTMLDivElement;
let root: ReturnType<typeof createRoot>;
let relay: RelayClient;
// Memory auth stores: jsdom has localStorage, which LocalAuthStore would share between the two users.
const pb = new PocketBase(pocketBaseUrl, new BaseAuthStore());
const echoes: RelayEvent[] = [];
/** Every DOM state of the list, as `id=name` rows: a duplicate or a flicker shows up here. */
const history: string[][] = [];
let listFetches = 0;
let hold: Promise<void> | undefined;

const rows = () => [...container.querySelectorAll("li")].map((li) => `${li.getAttribute("data-id")}=${li.textContent}`);
const settle = (ms = 20) => act(async () => { await new Promise((r) => setTimeout(r, ms)); });

/** Holds the next write request until `release()`: what the page shows meanwhile is the optimistic state. */
function gate(): () => void {
  let release!: () => void;
  hold = new Promise<void>((r) => (release = r));
  return () => {
    hold = undefined;
    release();
  };
}

beforeAll(async () => {
  pb.authStore.save(accounts.writer.token, { id: accounts.writer.id } as never);
  pb.beforeSend = async (url, options) => {
    if ((options.method ?? "GET") === "GET" && url.endsWith("/api/collections/board/records")) listFetches++;
    if (options.method !== "GET" && hold) await hold;
    return { url, options };
  };
  relay = new RelayClient({ url: relayUrl, accessToken: () => pb.authStore.token });
  await within(relay.start(), "start");
  const echoWatch = relay.watch("board/*", (e) => echoes.push(e));
  await within(echoWatch.ready, "echo subscription");
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity }, mutations: { retry: false } } });
  container = document.createElement("div");
  new MutationObserver(() => history.push(rows())).observe(container, { subtree: true, childList: true, characterData: true });
  root = createRoot(container);
  await act(async () => {
    root.render(h(QueryClientProvider, { client: queryClient }, h(RelayContext.Provider, { value: { relay, pb } }, h(Board))));
  });
  await until(() => listFetches === 1 && mutations !== undefined, "the first list fetch");
  await settle(300);
});

afterAll(async () => {
  await act(async () => root.unmount());
  await relay.stop();
});

async function echoOf(id: string, action: string): Promise<void> {
  await act(async () => until(() => echoes.some((e) => e.record.id === id && e.action === action), `the ${action} echo of ${id}`));
  await settle(200); // the strategy would have invalidated (and refetched) by now
}

/** Rows for `id` in every DOM state since `from`: never two at once, and once shown as `expected`, never otherwise. */
function assertSteady(from: number, id: string, expected: string | null): void {
  const states = history.slice(from).map((state) => state.filter((row) => row.startsWith(`${id}=`)));
  expect(states.every((s) => s.length <= 1)).toBe(true);
  const first = states.findIndex((s) => (expected === null ? s.length === 0 : s[0] === `${id}=${expected}`));
  expect(first).toBeGreaterThanOrEqual(0);
  expect(states.slice(first).every((s) => (expected === null ? s.length === 0 : s[0] === `${id}=${expected}`))).toBe(true);
}

it("create, update and delete show at once, and their echoes cause no duplicate, flicker or list refetch", async () => {
  const fetchesBefore = listFetches;

  // Create: the row is there while the request is still held back.
  let release = gate();
  let from = history.length;
  let created!: Item;
  await act(async () => {
    mutations.create.mutate({ name: `${prefix} one`, owner: accounts.writer.id }, { onSuccess: (record) => (created = record) });
  });
  await settle();
  const optimistic = rows().find((r) => r.endsWith(`=${prefix} one`));
  expect(optimistic).toBeDefined();
  const id = optimistic!.split("=")[0];
  release();
  await act(async () => until(() => created !== undefined, "the create response"));
  expect(created.id).toBe(id);
  await echoOf(id, "create");
  expect(rows().filter((r) => r.startsWith(`${id}=`))).toEqual([`${id}=${prefix} one`]);
  assertSteady(from, id, `${prefix} one`);

  // Update.
  release = gate();
  from = history.length;
  await act(async () => mutations.update.mutate({ id, name: `${prefix} two` }));
  await settle();
  expect(rows()).toContain(`${id}=${prefix} two`);
  release();
  await echoOf(id, "update");
  assertSteady(from, id, `${prefix} two`);

  // Delete.
  release = gate();
  from = history.length;
  await act(async () => mutations.remove.mutate(id));
  await settle();
  expect(rows().some((r) => r.startsWith(`${id}=`))).toBe(false);
  release();
  await echoOf(id, "delete");
  assertSteady(from, id, null);

  expect(listFetches).toBe(fetchesBefore);
}, 60_000);

it("rolls back a create, an update and a delete that PocketBase refuses", async () => {
  // Records owned by alice: the writer may see them but not change them (updateRule/deleteRule owner = auth).
  const theirs = new PocketBase(pocketBaseUrl, new BaseAuthStore());
  theirs.authStore.save(accounts.alice.token, { id: accounts.alice.id } as never);
  const other = await theirs.collection("board").create<Item>({ name: `${prefix} alice`, owner: accounts.alice.id });
  await act(async () => until(() => rows().includes(`${other.id}=${prefix} alice`), "alice's record in the list"));

  // Create for alice: refused by the createRule.
  let release = gate();
  let failed = false;
  await act(async () => mutations.create.mutate({ name: `${prefix} forged`, owner: accounts.alice.id }, { onError: () => (failed = true) }));
  await settle();
  expect(rows().some((r) => r.endsWith(`=${prefix} forged`))).toBe(true);
  release();
  await act(async () => until(() => failed, "the refused create"));
  await act(async () => until(() => !rows().some((r) => r.endsWith(`=${prefix} forged`)), "the create rolled back"));

  // Update of alice's record: shown at once, then back to her name.
  release = gate();
  failed = false;
  await act(async () => mutations.update.mutate({ id: other.id, name: `${prefix} renamed` }, { onError: () => (failed = true) }));
  await settle();
  expect(rows()).toContain(`${other.id}=${prefix} renamed`);
  release();
  await act(async () => until(() => failed, "the refused update"));
  await act(async () => until(() => rows().includes(`${other.id}=${prefix} alice`), "the update rolled back"));

  // Delete of alice's record: gone at once, then back in its place.
  const before = rows();
  release = gate();
  failed = false;
  await act(async () => mutations.remove.mutate(other.id, { onError: () => (failed = true) }));
  await settle();
  expect(rows()).not.toContain(`${other.id}=${prefix} alice`);
  release();
  await act(async () => until(() => failed, "the refused delete"));
  await act(async () => until(() => rows().includes(`${other.id}=${prefix} alice`), "the delete rolled back"));
  expect(rows()).toEqual(before);
}, 60_000);
