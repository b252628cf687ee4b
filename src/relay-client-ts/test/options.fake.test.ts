// Subscription options are compared by value, as Relay.Client and the server compare them: the same options written in
// another key order are the same subscription, not an `invalid_options` refusal.
import { describe, expect, it } from "vitest";
import { RelayClient } from "../src/client.js";
import { RelayError } from "../src/errors.js";
import type { SubscriptionOptions } from "../src/protocol.js";
import { FakeHub, within } from "./fake-hub.js";

async function started(hub: FakeHub): Promise<RelayClient> {
  const client = new RelayClient({ url: "http://relay.test", createConnection: () => hub, reconnectBaseDelayMs: 1, reconnectMaxDelayMs: 5 });
  await within(client.start(), "start");
  return client;
}

describe("RelayClient subscription options (fake hub)", () => {
  it("shares one subscription between the same options written in another key order", async () => {
    const hub = new FakeHub();
    const client = await started(hub);
    const first = client.watch("notes/*", () => {}, { query: { expand: "owner", fields: "id,title" }, headers: { "x-a": "1", "x-b": "2" } });
    const second = client.watch("notes/*", () => {}, { headers: { "x-b": "2", "x-a": "1" }, query: { fields: "id,title", expand: "owner" } });
    await within(Promise.all([first.ready, second.ready]), "both subscriptions");
    expect(hub.batches()).toEqual([["notes/*"]]);
  });

  it("treats an empty section as no options, as Relay does", async () => {
    const hub = new FakeHub();
    const client = await started(hub);
    const first = client.watch("notes/*", () => {});
    const second = client.watch("notes/*", () => {}, { query: {}, headers: {} });
    const third = client.watch("notes/*", () => {}, {});
    await within(Promise.all([first.ready, second.ready, third.ready]), "three subscriptions");
    expect(hub.batches()).toEqual([["notes/*"]]);
  });

  it.each<[string, SubscriptionOptions | undefined, SubscriptionOptions | undefined]>([
    ["another value", { query: { expand: "owner" } }, { query: { expand: "author" } }],
    ["another key", { query: { expand: "owner" } }, { query: { fields: "owner" } }],
    ["an extra key", { query: { expand: "owner" } }, { query: { expand: "owner", fields: "id" } }],
    ["the same pair in another section", { query: { expand: "owner" } }, { headers: { expand: "owner" } }],
    ["options where there were none", undefined, { query: { expand: "owner" } }],
  ])("refuses %s with invalid_options", async (_, held, other) => {
    const hub = new FakeHub();
    const client = await started(hub);
    const first = client.watch("notes/*", () => {}, held);
    const second = client.watch("notes/*", () => {}, other);
    await within(first.ready, "the first subscription");
    const error = await within(second.ready.then(() => undefined, (e: unknown) => e), "the refusal");
    expect(error).toBeInstanceOf(RelayError);
    expect((error as RelayError).code).toBe("invalid_options");
  });

  it("raises no unhandled rejection for a refused watch whose ready is never awaited", async () => {
    const hub = new FakeHub();
    const client = await started(hub);
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", record);
    try {
      await within(client.watch("notes/*", () => {}, { query: { expand: "owner" } }).ready, "the first subscription");
      client.watch("notes/*", () => {}, { query: { expand: "author" } });
      // Node reports an unhandled rejection after the microtask queue drains; two macrotasks are past that point.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await new Promise((resolve) => setTimeout(resolve, 0));
    } finally {
      process.off("unhandledRejection", record);
    }
    expect(unhandled).toEqual([]);
  });
});
