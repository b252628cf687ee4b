// @vitest-environment jsdom
import { createElement as h, act } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import PocketBase, { BaseAuthStore } from "pocketbase";
import { expect, inject, it } from "vitest";
import { RelayClient } from "../src/index.js";
import { RelayContext, useCollection, useRealtimeCollection } from "../src/react.js";

const relay = inject("relay");
const pocketBase = inject("pocketBase");
const accounts = inject("accounts");

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function Board() {
  useRealtimeCollection("board");
  const items = useCollection<{ id: string; name: string }>("board", { sort: "name" });
  return h("ul", null, (items.data ?? []).map((item) => h("li", { key: item.id }, item.name)));
}

it("React helpers: a list rendered with useCollection follows another user's writes through useRealtimeCollection", async () => {
  const pb = new PocketBase(pocketBase, new BaseAuthStore());
  pb.authStore.save(accounts.bob.token, { id: accounts.bob.id } as never);
  const client = new RelayClient({ url: relay, accessToken: () => pb.authStore.token });
  await client.start();
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const container = document.createElement("div");
  const root = createRoot(container);
  await act(async () => {
    root.render(
      h(QueryClientProvider, { client: queryClient },
        h(RelayContext.Provider, { value: { relay: client, pb } }, h(Board))),
    );
  });

  const name = `react ${Date.now()}`;
  // Give the subscription a moment to be in place before writing.
  await act(async () => { await new Promise((r) => setTimeout(r, 300)); });
  const response = await fetch(`${pocketBase}/api/collections/board/records`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: accounts.writer.token },
    body: JSON.stringify({ name, owner: accounts.writer.id }),
  });
  expect(response.ok).toBe(true);

  const deadline = Date.now() + 5_000;
  while (!container.textContent?.includes(name) && Date.now() < deadline) {
    await act(async () => { await new Promise((r) => setTimeout(r, 20)); });
  }
  expect(container.textContent).toContain(name);

  await act(async () => root.unmount());
  await client.stop();
});
