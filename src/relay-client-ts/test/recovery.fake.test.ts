// Offsets and recovery against a fake hub: the last offset per topic is kept and sent as `since` after a full
// reconnect; topics the server recovered raise no resync, the others do. No timed assertions.
import { describe, expect, it } from "vitest";
import { RelayClient } from "../src/client.js";
import type { RelayEvent, SubscribeRequest, SubscribeResult } from "../src/protocol.js";
import { FakeHub, until, within } from "./fake-hub.js";

describe("RelayClient recovery (fake hub)", () => {
  it("sends the last offset per topic after a full reconnect; recovered topics get their replay and no resync", async () => {
    const hub = new FakeHub();
    const client = new RelayClient({ url: "http://relay.test", createConnection: () => hub, reconnectBaseDelayMs: 1, reconnectMaxDelayMs: 5 });
    // Per topic, the one `since` the fake's history covers, and what it replays then (before answering, as Relay does).
    const recoverable = new Map<string, string>();
    const replay = new Map<string, RelayEvent[]>();
    hub.answer = (method, args) => {
      if (method !== "SubscribeMany") return undefined;
      return (args[0] as SubscribeRequest[]).map((r): SubscribeResult => {
        const recovered = r.since != null && recoverable.get(r.topic) === r.since;
        if (recovered) for (const event of replay.get(r.topic) ?? []) hub.emit("Event", event);
        return { topic: r.topic, error: null, message: null, recovered, offset: `head-${r.topic}` };
      });
    };
    const resyncs: string[][] = [];
    client.onResync((s) => resyncs.push(s.topics));
    const notes: string[] = [];
    await within(client.start(), "start");
    await within(client.watch("notes/*", (e) => notes.push(e.record.id)).ready, "notes");
    await within(client.watch("tasks/*", () => {}).ready, "tasks");
    const first = hub.calls.filter((c) => c.method === "SubscribeMany").flatMap((c) => c.args[0] as SubscribeRequest[]);
    expect(first.every((r) => r.since === undefined)).toBe(true);

    hub.emit("Event", { topic: "notes/*", action: "create", record: { id: "n5" }, offset: "e1-5" });
    recoverable.set("notes/*", "e1-5");
    replay.set("notes/*", [{ topic: "notes/*", action: "update", record: { id: "n6" }, offset: "e1-6" }]);
    hub.drop(new Error("transport lost"));

    // notes/* recovered (its missed event replayed); tasks/* sent its baseline and, not recovered, is resynced.
    await until(() => resyncs.length === 1, "resync");
    expect(resyncs[0]).toEqual(["tasks/*"]);
    expect(notes).toEqual(["n5", "n6"]);
    const second = hub.calls.filter((c) => c.method === "SubscribeMany").at(-1)!.args[0] as SubscribeRequest[];
    expect(second.find((r) => r.topic === "notes/*")?.since).toBe("e1-5");
    expect(second.find((r) => r.topic === "tasks/*")?.since).toBe("head-tasks/*");

    // The next reconnect resumes notes/* from the replayed event; with both topics recovered there is no resync.
    recoverable.set("notes/*", "e1-6");
    recoverable.set("tasks/*", "head-tasks/*");
    replay.set("notes/*", [{ topic: "notes/*", action: "delete", record: { id: "n7" }, offset: "e1-7" }]);
    const calls = hub.calls.length;
    hub.drop(new Error("transport lost"));
    await until(() => notes.length === 3 && hub.calls.length > calls && client.state === "connected", "second recovery");
    await within(client.watch("other/*", () => {}).ready, "a later subscribe, applied after the resubscribe");
    expect(notes).toEqual(["n5", "n6", "n7"]);
    const third = hub.calls.filter((c) => c.method === "SubscribeMany").at(-2)!.args[0] as SubscribeRequest[];
    expect(third.find((r) => r.topic === "notes/*")?.since).toBe("e1-6");
    expect(resyncs).toHaveLength(1);
    await client.stop();
  });
});
