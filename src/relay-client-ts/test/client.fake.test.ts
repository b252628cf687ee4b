// RelayClient's own logic against a fake hub: batching, retries, fallback, reconnects, ordering. No timed assertions.
import { describe, expect, it } from "vitest";
import { RelayClient, type ConnectionState, type RelayClientOptions } from "../src/client.js";
import { RelayError } from "../src/errors.js";
import type { RelayEvent, SubscribeRequest } from "../src/protocol.js";
import { FakeHub, ok, until, within } from "./fake-hub.js";

function create(hub: FakeHub, options: Partial<RelayClientOptions> = {}): RelayClient {
  return new RelayClient({ url: "http://relay.test", createConnection: () => hub, reconnectBaseDelayMs: 1, reconnectMaxDelayMs: 5, retryBaseDelayMs: 1, retryMaxDelayMs: 5, ...options });
}

const topics = (n: number) => Array.from({ length: n }, (_, i) => `notes/id${i}`);

describe("RelayClient (fake hub)", () => {
  it("declares protocol version 2 on the hub URL", () => {
    let url = "";
    new RelayClient({ url: "http://relay.test/", createConnection: (u) => ((url = u), new FakeHub()) });
    expect(url).toBe("http://relay.test/realtime?relay_protocol=2");
  });

  it("delivers an event that arrives before the subscribe call completes (the lost-first-event race)", async () => {
    const hub = new FakeHub();
    // Relay holds the subscription before it answers, so an event can reach the client ahead of the completion.
    hub.answer = (method, args) => {
      if (method !== "SubscribeMany") return undefined;
      const requests = args[0] as SubscribeRequest[];
      hub.emit("Event", { topic: requests[0].topic, action: "create", record: { id: "first" } });
      return ok(requests);
    };
    const client = create(hub);
    await within(client.start(), "start");
    const received: string[] = [];
    await within(client.subscribe("notes/*", (e) => received.push(e.record.id)), "subscribe");
    expect(received).toEqual(["first"]);
  });

  it("sends the subscribes of one tick as one SubscribeMany", async () => {
    const hub = new FakeHub();
    const client = create(hub);
    await within(client.start(), "start");
    const all = topics(40).map((t) => client.watch(t, () => {}));
    await within(Promise.all(all.map((s) => s.ready)), "40 subscriptions");
    expect(hub.batches()).toEqual([topics(40)]);
  });

  it("retries entries refused with rate_limited or upstream_unavailable until they succeed", async () => {
    const hub = new FakeHub();
    let call = 0;
    hub.answer = (method, args) => {
      if (method !== "SubscribeMany") return undefined;
      call++;
      const requests = args[0] as SubscribeRequest[];
      return requests.map((r, i) => ({
        topic: r.topic,
        error: call === 1 && i % 2 === 1 ? "rate_limited" : call === 2 && i === 0 ? "upstream_unavailable" : null,
        message: null,
      }));
    };
    const client = create(hub);
    const errors: RelayError[] = [];
    client.onSubscriptionError((e) => errors.push(e));
    await within(client.start(), "start");
    const all = topics(6).map((t) => client.watch(t, () => {}));
    await within(Promise.all(all.map((s) => s.ready)), "all subscribed");
    expect(hub.batches()).toEqual([topics(6), ["notes/id1", "notes/id3", "notes/id5"], ["notes/id1"]]);
    expect(errors).toEqual([]);
  });

  it("retries a whole call refused with rate_limited", async () => {
    const hub = new FakeHub();
    let refused = 0;
    hub.answer = (method, args) => {
      if (method !== "SubscribeMany") return undefined;
      if (refused++ < 3) throw new Error("An unexpected error occurred invoking 'SubscribeMany' on the server. HubException: rate_limited: too many calls");
      return ok(args[0]);
    };
    const client = create(hub);
    await within(client.start(), "start");
    await within(client.subscribe("notes/*", () => {}), "subscribe");
    expect(hub.batches()).toHaveLength(4);
  });

  it("reports a topic refused for good through the error callback and does not retry it", async () => {
    const hub = new FakeHub();
    hub.answer = (method, args) =>
      method === "SubscribeMany"
        ? (args[0] as SubscribeRequest[]).map((r) => ({ topic: r.topic, error: r.topic.startsWith("secret") ? "topic_not_allowed" : null, message: "topic_not_allowed: no" }))
        : undefined;
    const client = create(hub);
    const errors: RelayError[] = [];
    client.onSubscriptionError((e) => errors.push(e));
    await within(client.start(), "start");
    const good = client.watch("notes/*", () => {});
    const bad = client.subscribe("secret/*", () => {});
    await expect(within(bad, "refusal")).rejects.toMatchObject({ code: "topic_not_allowed", topic: "secret/*" });
    await within(good.ready, "good topic");
    expect(errors.map((e) => [e.code, e.topic])).toEqual([["topic_not_allowed", "secret/*"]]);
    hub.drop(new Error("gone"));
    await until(() => hub.batches().length === 2, "resubscribe");
    expect(hub.batches()[1]).toEqual(["notes/*"]);
    await client.stop();
  });

  it("falls back to one Subscribe per topic on a version-1 server", async () => {
    const hub = new FakeHub();
    hub.answer = (method) => {
      if (method === "SubscribeMany") throw new Error("Failed to invoke 'SubscribeMany' due to an error on the server.");
      return undefined;
    };
    const client = create(hub);
    await within(client.start(), "start");
    await within(Promise.all(topics(3).map((t) => client.subscribe(t, () => {}))), "subscribes");
    expect(hub.calls.filter((c) => c.method === "Subscribe").map((c) => [c.args[0], c.args[1]])).toEqual(topics(3).map((t) => [t, null]));
  });

  it("dispatches an Events batch in order", async () => {
    const hub = new FakeHub();
    const client = create(hub);
    await within(client.start(), "start");
    const received: string[] = [];
    await within(client.subscribe("notes/*", (e) => received.push(e.record.id)), "subscribe");
    const events: RelayEvent[] = ["a", "b", "c"].map((id) => ({ topic: "notes/*", action: "update", record: { id } }));
    hub.emit("Events", events);
    expect(received).toEqual(["a", "b", "c"]);
  });

  it("reconnects after any close it did not ask for, resubscribes everything in one call and raises a resync", async () => {
    const hub = new FakeHub();
    const client = create(hub);
    const states: ConnectionState[] = [];
    client.onStateChange((s) => states.push(s));
    const resyncs: string[][] = [];
    client.onResync((s) => resyncs.push(s.topics));
    await within(client.start(), "start");
    await within(Promise.all(topics(40).map((t) => client.watch(t, () => {}).ready)), "subscribed");

    hub.onStart = () => {
      if (hub.starts < 4) throw new Error("connection refused");
    };
    hub.drop(new Error("Server returned an error on close: Relay is shutting down; reconnect."));
    await until(() => resyncs.length === 1, "resync");
    expect(states).toEqual(["connecting", "connected", "reconnecting", "connected"]);
    expect(hub.batches()).toEqual([topics(40), topics(40)]);
    expect(resyncs[0]).toEqual(topics(40));
    await client.stop();
    expect(client.state).toBe("disconnected");
  });

  it("start() retries until the connection is established", async () => {
    const hub = new FakeHub();
    hub.onStart = () => {
      if (hub.starts < 3) throw new Error("Failed to fetch");
    };
    const client = create(hub);
    await within(client.start(), "start");
    expect(hub.starts).toBe(3);
    expect(client.state).toBe("connected");
  });

  it("stop() while start() is connecting leaves the client disconnected", async () => {
    const hub = new FakeHub();
    let stopping: Promise<void> | undefined;
    const client = create(hub);
    hub.onStart = () => {
      stopping = client.stop();
    };
    await expect(within(client.start(), "start")).rejects.toMatchObject({ code: "stopped" });
    await within(stopping!, "stop");
    expect(client.state).toBe("disconnected");
    expect(hub.connected).toBe(false);
  });

  it("start() gives up when Relay refuses the token", async () => {
    const hub = new FakeHub();
    hub.onStart = () => {
      throw new Error("Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'");
    };
    const client = create(hub);
    await expect(within(client.start(), "start")).rejects.toThrow(/401/);
    expect(client.state).toBe("disconnected");
    expect(hub.starts).toBe(1);
  });

  it("does not reconnect after AuthExpired", async () => {
    const hub = new FakeHub();
    const client = create(hub);
    const reasons: string[] = [];
    client.onAuthExpired((r) => reasons.push(r));
    await within(client.start(), "start");
    hub.emit("AuthExpired", { reason: "token_revoked" });
    hub.drop(new Error("Server returned an error on close: token_revoked"));
    await new Promise((r) => setTimeout(r, 20));
    expect(reasons).toEqual(["token_revoked"]);
    expect(client.state).toBe("disconnected");
    expect(hub.starts).toBe(1);
  });

  it("closing a topic while its subscribe is in flight sends Unsubscribe after it, and a topic closed while waiting to retry is not retried", async () => {
    const hub = new FakeHub();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let call = 0;
    hub.answer = async (method, args) => {
      if (method !== "SubscribeMany") return undefined;
      call++;
      if (call === 1) {
        await gate;
        return ok(args[0]);
      }
      return (args[0] as SubscribeRequest[]).map((r) => ({ topic: r.topic, error: "rate_limited", message: null }));
    };
    const client = create(hub, { retryBaseDelayMs: 50, retryMaxDelayMs: 50 });
    await within(client.start(), "start");
    const first = client.watch("notes/*", () => {});
    await until(() => hub.batches().length === 1, "first call");
    const closing = first.close();
    release();
    await within(closing, "close");
    await expect(first.ready).rejects.toMatchObject({ code: "unsubscribed" });
    expect(hub.calls.map((c) => c.method)).toEqual(["SubscribeMany", "Unsubscribe"]);

    // Subscribed again: refused with rate_limited, then closed before the retry fires.
    const second = client.watch("notes/*", () => {});
    await until(() => hub.batches().length === 2, "second call");
    await second.close();
    await new Promise((r) => setTimeout(r, 150));
    expect(hub.batches()).toHaveLength(2);
    expect(client.watch("other/*", () => {}).topic).toBe("other/*");
    await until(() => hub.batches().length === 3, "third call");
    expect(hub.batches()[2]).toEqual(["other/*"]);
  });
});
