// An in-memory stand-in for SignalR's HubConnection: records the calls the client makes, answers them with a
// test-chosen function, and lets a test push server messages or drop the connection.
import type { HubConnectionLike } from "../src/client.js";
import type { SubscribeRequest, SubscribeResult } from "../src/protocol.js";

/** What `invoke` resolves to: a value, or a promise of one. */
export type Answer = (method: string, args: any[]) => unknown;

export class FakeHub implements HubConnectionLike {
  readonly calls: Array<{ method: string; args: any[] }> = [];
  connected = false;
  starts = 0;
  /** Answers `start()`: throw to fail it. */
  onStart: () => void | Promise<void> = () => {};
  /** Answers invoke/send; by default every SubscribeMany entry succeeds. */
  answer: Answer = (method, args) => (method === "SubscribeMany" ? ok(args[0]) : undefined);
  private readonly handlers = new Map<string, Array<(...args: any[]) => void>>();
  private readonly closeCallbacks: Array<(error?: Error) => void> = [];

  on(method: string, handler: (...args: any[]) => void): void {
    this.handlers.set(method, [...(this.handlers.get(method) ?? []), handler]);
  }

  onclose(callback: (error?: Error) => void): void {
    this.closeCallbacks.push(callback);
  }

  async start(): Promise<void> {
    this.starts++;
    await this.onStart();
    this.connected = true;
  }

  async stop(): Promise<void> {
    if (!this.connected) return;
    this.drop();
  }

  async invoke<T>(method: string, ...args: any[]): Promise<T> {
    if (!this.connected) throw new Error("Cannot send data if the connection is not in the 'Connected' State.");
    this.calls.push({ method, args });
    return (await this.answer(method, args)) as T;
  }

  async send(method: string, ...args: any[]): Promise<void> {
    await this.invoke(method, ...args);
  }

  /** The server invokes `method` on the client. */
  emit(method: string, ...args: any[]): void {
    for (const handler of this.handlers.get(method) ?? []) handler(...args);
  }

  /** The connection closes (as SignalR reports it after a drop or a server close message). */
  drop(error?: Error): void {
    this.connected = false;
    for (const callback of this.closeCallbacks) callback(error);
  }

  /** The topics of every SubscribeMany call so far, one array per call. */
  batches(): string[][] {
    return this.calls.filter((c) => c.method === "SubscribeMany").map((c) => (c.args[0] as SubscribeRequest[]).map((r) => r.topic));
  }
}

export function ok(requests: SubscribeRequest[]): SubscribeResult[] {
  return requests.map((r) => ({ topic: r.topic, error: null, message: null }));
}

/** Polls `condition` until it holds; fails after `ms` (generous: the machine is shared). */
export async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Fails when `promise` does not settle within `ms`. */
export function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, fail) => setTimeout(() => fail(new Error(`timed out waiting for ${what}`)), ms))]);
}
