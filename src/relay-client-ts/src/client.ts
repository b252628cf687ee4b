import { HttpTransportType, HubConnectionBuilder, LogLevel, type IHttpConnectionOptions } from "@microsoft/signalr";
import { RelayError, isUnknownMethod } from "./errors.js";
import { optionsKey } from "./options.js";
import {
  ClientMethods,
  ErrorCodes,
  HUB_PATH,
  HubMethods,
  PROTOCOL_VERSION,
  ResyncReasons,
  TRANSIENT_ERROR_CODES,
  VERSION_PARAMETER,
  type AuthExpiredSignal,
  type RelayEvent,
  type ResyncSignal,
  type SubscribeRequest,
  type SubscribeResult,
  type SubscriptionOptions,
} from "./protocol.js";
import { cancellableDelay, jitteredDelay } from "./retry.js";

/** Where the connection is: `connecting` (first `start()`), `connected`, `reconnecting` (after a drop), `disconnected`. */
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";

/** The part of SignalR's `HubConnection` the client uses (tests pass a fake through `createConnection`). */
/* eslint-disable @typescript-eslint/no-explicit-any -- SignalR's HubConnection signatures, which take any[]: with unknown[], a typed handler such as (event: RelayEvent) => void would be refused */
export interface HubConnectionLike {
  on(method: string, handler: (...args: any[]) => void): void;
  onclose(callback: (error?: Error) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  invoke<T = any>(method: string, ...args: any[]): Promise<T>;
  send(method: string, ...args: any[]): Promise<void>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface RelayClientOptions {
  /** Relay's base URL, e.g. `https://relay.example.com`; `/realtime?relay_protocol=2` is appended. */
  url: string;
  /**
   * Returns the user's PocketBase token (called on every connect). Leave it out, or return `null`, to connect as a
   * guest — or, in BFF mode, as the user of Relay's session cookie.
   */
  accessToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** First reconnect (and `start()` retry) delay in ms; doubles per attempt, jittered, never gives up. Default 200. */
  reconnectBaseDelayMs?: number;
  /** Longest reconnect delay in ms. Default 10000. */
  reconnectMaxDelayMs?: number;
  /** First delay in ms before subscriptions refused with `rate_limited`/`upstream_unavailable` are retried. Default 250. */
  retryBaseDelayMs?: number;
  /** Longest subscription retry delay in ms. Default 10000. */
  retryMaxDelayMs?: number;
  /** Most topics per `SubscribeMany` call (Relay refuses more than `Relay:MaxSubscriptionsPerConnection`). Default 100. */
  maxBatchSize?: number;
  /** Extra HTTP headers on negotiate and non-WebSocket requests (e.g. `X-CSRF` in BFF mode). */
  headers?: Record<string, string>;
  /** Send cookies cross-origin (SignalR's `withCredentials`). Default true. */
  withCredentials?: boolean;
  /** SignalR log level. Default: warnings. */
  logLevel?: LogLevel;
  /** Builds the hub connection for a hub URL; for tests and custom transports. Default: SignalR's `HubConnectionBuilder`. */
  createConnection?: (hubUrl: string) => HubConnectionLike;
  /** Random source of the backoff jitter, in [0, 1). Default `Math.random`. */
  random?: () => number;
}

export type EventHandler = (event: RelayEvent) => void;

/** A held subscription: `ready` settles when Relay first holds it (rejects when refused for good); `close()` releases it. */
export interface RelaySubscription {
  readonly topic: string;
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

type Status = "pending" | "inflight" | "waiting" | "active";

interface TopicEntry {
  topic: string;
  options: SubscriptionOptions | undefined;
  /** `optionsKey(options)`: another handler of the topic must bring the same options, compared by value. */
  optionsKey: string;
  handlers: Set<EventHandler>;
  status: Status;
  /** Failed attempts in a row (transient refusals), for the backoff. */
  attempt: number;
  /** Held on an earlier connection: when held again, events in between may be lost, so a resync is raised. */
  held: boolean;
  /**
   * The last offset seen for the topic (an event's, or the subscription result's baseline when none came since): sent
   * as `since` on the resubscribe after a full reconnect, so Relay replays what was missed instead of a resync.
   */
  offset: string | null;
  ready: Promise<void>;
  settle: (error?: RelayError) => void;
}

/**
 * A connection to Relay. Several subscriptions of one topic share one subscription on Relay; the subscriptions made
 * in one tick (a page mount) are sent together in one `SubscribeMany` call, as are all of them after every reconnect.
 * The client reconnects on its own — after a drop, a failed `start()`, or a server that drains for a deploy — and
 * after a full reconnect subscribes its topics again with the offset of the last event seen for each: Relay replays
 * what was missed from its history, and only the topics it could not recover raise `onResync` (reason `reconnected`).
 */
export class RelayClient {
  private readonly options: RelayClientOptions;
  private readonly random: () => number;
  private readonly topics = new Map<string, TopicEntry>();
  private readonly resyncListeners = new Set<(signal: ResyncSignal) => void>();
  private readonly authExpiredListeners = new Set<(reason: string) => void>();
  private readonly stateListeners = new Set<(state: ConnectionState, error?: Error) => void>();
  private readonly errorListeners = new Set<(error: RelayError) => void>();
  private currentState: ConnectionState = "disconnected";
  /** Bumped on every connect and close: results of calls made on an earlier connection are ignored. */
  private generation = 0;
  private stopped = true;
  private authExpired = false;
  private supportsMany = true;
  private running: Promise<void> | undefined;
  private backoff: { cancel: () => void } | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly hubUrl: string;
  private current: HubConnectionLike;
  private readonly wired = new WeakSet<HubConnectionLike>();
  /** Whether `current` was started before: SignalR's HubConnection is not safely restartable from its own close. */
  private used = false;

  constructor(options: RelayClientOptions) {
    if (!/^https?:\/\//.test(options.url)) {
      throw new TypeError(`url must be an absolute http(s) URL, not '${options.url}'`);
    }
    this.options = options;
    this.random = options.random ?? Math.random;
    this.hubUrl = `${options.url.replace(/\/$/, "")}${HUB_PATH}?${VERSION_PARAMETER}=${PROTOCOL_VERSION}`;
    this.current = this.newConnection();
  }

  /** The current SignalR connection (a new one after every full reconnect). */
  get connection(): HubConnectionLike {
    return this.current;
  }

  private newConnection(): HubConnectionLike {
    const connection = (this.options.createConnection ?? ((url) => buildConnection(url, this.options)))(this.hubUrl);
    if (this.wired.has(connection)) return connection;
    this.wired.add(connection);
    // Handlers are on the connection before it starts, and a topic's handlers are in the map before its subscribe is
    // sent, so an event that arrives before the call completes is delivered, not lost.
    connection.on(ClientMethods.Event, (event: RelayEvent) => this.dispatch(event));
    connection.on(ClientMethods.Events, (events: RelayEvent[]) => events.forEach((event) => this.dispatch(event)));
    connection.on(ClientMethods.Resync, (signal: ResyncSignal) => this.emit(this.resyncListeners, signal));
    connection.on(ClientMethods.AuthExpired, (signal: AuthExpiredSignal) => {
      this.authExpired = true;
      this.emit(this.authExpiredListeners, signal.reason);
    });
    connection.onclose((error) => {
      if (connection === this.current) this.closed(error);
    });
    return connection;
  }

  /** The connection's state; `onStateChange` reports every change. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /**
   * Connects, retrying with the reconnect backoff until it succeeds; resolves once connected and the held topics were
   * sent again (after a `stop()` they are subscribed again, each with its last offset, and `onResync` is raised for
   * those Relay could not recover from its history). Rejects when `stop()` is called
   * first, or when Relay refuses the token (401/403): a new token needs a new `start()`.
   */
  start(): Promise<void> {
    if (this.running) return this.running;
    if (this.currentState === "connected") return Promise.resolve();
    this.stopped = false;
    this.authExpired = false;
    this.setState("connecting");
    return this.run();
  }

  /** Disconnects and stops reconnecting; held topics stay held and are subscribed again by the next `start()`. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.backoff?.cancel();
    this.clearTimers();
    await this.current.stop();
    if (this.currentState !== "disconnected") this.setState("disconnected");
  }

  /** Called on every state change, with the error that caused a drop or a final disconnect. Returns the remover. */
  onStateChange(listener: (state: ConnectionState, error?: Error) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Called when events may have been lost for the listed topics; refetch them. Returns the remover. */
  onResync(listener: (signal: ResyncSignal) => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** Called when PocketBase no longer accepts the token; the connection closes next and does not reconnect. */
  onAuthExpired(listener: (reason: string) => void): () => void {
    this.authExpiredListeners.add(listener);
    return () => this.authExpiredListeners.delete(listener);
  }

  /**
   * Called when Relay refuses a topic for good (`topic_not_allowed`, `invalid_topic`, `subscription_refused`,
   * `too_many_subscriptions`, ...), including on a resubscribe no caller awaits. The topic is then dropped.
   */
  onSubscriptionError(listener: (error: RelayError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /**
   * Holds `topic` (`COLLECTION/*` or `COLLECTION/RECORD_ID`) for `handler` at once, without waiting: the calls made in
   * one tick go to Relay together in one `SubscribeMany`. Refusals with `rate_limited` or `upstream_unavailable` are
   * retried with jittered backoff until Relay holds the topic or it is closed.
   */
  watch(topic: string, handler: EventHandler, options?: SubscriptionOptions): RelaySubscription {
    let entry = this.topics.get(topic);
    if (entry) {
      if (entry.optionsKey !== optionsKey(options)) {
        const error = new RelayError(ErrorCodes.InvalidOptions, `'${topic}' is already subscribed with other options`, topic);
        const ready = Promise.reject(error);
        // As for a held topic's `ready`: a caller that never awaits it must not cause an unhandled rejection.
        ready.catch(() => {});
        return { topic, ready, close: async () => {} };
      }
    } else {
      entry = this.newEntry(topic, options);
      this.topics.set(topic, entry);
      this.scheduleFlush();
    }
    entry.handlers.add(handler);

    const held = entry;
    let closed = false;
    return {
      topic,
      ready: held.ready,
      close: async () => {
        if (closed) return;
        closed = true;
        held.handlers.delete(handler);
        if (held.handlers.size > 0 || this.topics.get(topic) !== held) return;
        this.topics.delete(topic);
        const wasSent = held.status === "active" || held.status === "inflight";
        held.settle(new RelayError("unsubscribed", `'${topic}' was unsubscribed before Relay held it`, topic));
        // SignalR runs a connection's calls in the order sent, so this lands after any SubscribeMany still in flight.
        if (wasSent && this.currentState === "connected") {
          await this.current.send(HubMethods.Unsubscribe, topic).catch(() => {});
        }
      },
    };
  }

  /**
   * Subscribes `handler` to `topic` and resolves once Relay holds it, with the unsubscribe function; rejects with a
   * `RelayError` carrying Relay's code when refused for good. Transient refusals are retried meanwhile.
   */
  async subscribe(topic: string, handler: EventHandler, options?: SubscriptionOptions): Promise<() => Promise<void>> {
    const subscription = this.watch(topic, handler, options);
    try {
      await subscription.ready;
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return () => subscription.close();
  }

  /** Hands Relay a fresh token of the same user without reconnecting. */
  async reauthenticate(token: string): Promise<void> {
    try {
      await this.current.invoke(HubMethods.Reauthenticate, token);
    } catch (error) {
      throw RelayError.from(error);
    }
  }

  private newEntry(topic: string, options: SubscriptionOptions | undefined): TopicEntry {
    let resolve!: () => void;
    let reject!: (error: RelayError) => void;
    const ready = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    // Callers that never await `ready` (watch + close) must not cause an unhandled rejection.
    ready.catch(() => {});
    let settled = false;
    return {
      topic,
      options,
      optionsKey: optionsKey(options),
      handlers: new Set(),
      status: "pending",
      attempt: 0,
      held: false,
      offset: null,
      ready,
      settle: (error) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      },
    };
  }

  private async run(reconnecting = false): Promise<void> {
    const running = this.connect(reconnecting).finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }

  private async connect(reconnecting = false): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (reconnecting || attempt > 0) {
        // A jittered pause even before the first reconnect: the clients of a draining instance do not all land on
        // the next one in the same instant.
        const delay = cancellableDelay(jitteredDelay(reconnecting ? attempt : attempt - 1, this.options.reconnectBaseDelayMs ?? 200, this.options.reconnectMaxDelayMs ?? 10_000, this.random));
        this.backoff = delay;
        const elapsed = await delay.done;
        this.backoff = undefined;
        if (!elapsed) throw new RelayError("stopped", "stop() was called before the connection was established");
      }
      if (this.stopped) throw new RelayError("stopped", "stop() was called before the connection was established");
      try {
        // A fresh HubConnection per attempt: restarting SignalR's from inside its own close lets the old
        // connection's stop clobber the new transport (measured: reconnected, but no event ever arrived).
        if (this.used) this.current = this.newConnection();
        this.used = true;
        await this.current.start();
        if (this.stopped) {
          await this.current.stop();
          throw new RelayError("stopped", "stop() was called before the connection was established");
        }
        break;
      } catch (error) {
        if (this.stopped) throw new RelayError("stopped", "stop() was called before the connection was established");
        if (isAuthRefusal(error)) {
          this.stopped = true;
          this.setState("disconnected", error as Error);
          throw error;
        }
      }
    }

    this.generation++;
    this.supportsMany = true;
    this.clearTimers();
    // The server holds nothing for a new connection: every held topic is sent again, in one call.
    for (const entry of this.topics.values()) {
      entry.status = "pending";
      entry.attempt = 0;
    }
    this.setState("connected");
    await this.flush();
  }

  private closed(error?: Error): void {
    this.generation++;
    this.clearTimers();
    if (this.stopped || this.authExpired) {
      this.stopped = true;
      this.setState("disconnected", error);
      return;
    }
    // Any close we did not ask for, including Relay draining for a deploy ("reconnect" close message), reconnects
    // to whichever instance answers.
    this.setState("reconnecting", error);
    void this.run(true).catch(() => {});
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, 0);
  }

  /** Sends every pending topic, in calls of at most `maxBatchSize`; resolves when their results are applied. */
  private async flush(): Promise<void> {
    if (this.currentState !== "connected") return;
    const pending = [...this.topics.values()].filter((entry) => entry.status === "pending");
    const size = Math.max(1, this.options.maxBatchSize ?? 100);
    const calls: Promise<void>[] = [];
    for (let i = 0; i < pending.length; i += size) {
      const batch = pending.slice(i, i + size);
      batch.forEach((entry) => (entry.status = "inflight"));
      calls.push(this.subscribeBatch(batch));
    }
    await Promise.all(calls);
  }

  private async subscribeBatch(batch: TopicEntry[]): Promise<void> {
    const generation = this.generation;
    const requests: SubscribeRequest[] = batch.map((entry) =>
      entry.held && entry.offset !== null
        ? { topic: entry.topic, options: entry.options ?? null, since: entry.offset }
        : { topic: entry.topic, options: entry.options ?? null },
    );
    let results: SubscribeResult[] | undefined;
    let failure: RelayError | undefined;
    if (this.supportsMany) {
      try {
        results = await this.current.invoke<SubscribeResult[]>(HubMethods.SubscribeMany, requests);
      } catch (error) {
        if (isUnknownMethod(error, HubMethods.SubscribeMany)) this.supportsMany = false;
        else failure = RelayError.from(error);
      }
    }
    if (!results && !failure) {
      // A version-1 Relay: one Subscribe per topic.
      results = await Promise.all(
        requests.map((request) =>
          this.current.invoke(HubMethods.Subscribe, request.topic, request.options).then(
            (): SubscribeResult => ({ topic: request.topic, error: null, message: null }),
            (error): SubscribeResult => {
              const refusal = RelayError.from(error);
              return { topic: request.topic, error: refusal.code, message: refusal.message };
            },
          ),
        ),
      );
    }
    if (generation !== this.generation) return; // the connection changed: the new one sends everything again

    const resynced: string[] = [];
    let retry = 0;
    batch.forEach((entry, i) => {
      if (this.topics.get(entry.topic) !== entry) return; // closed meanwhile (its Unsubscribe was sent after this call)
      const result = results?.[i];
      const code = failure ? (failure.code === ErrorCodes.InvalidRequest ? failure.code : ErrorCodes.RateLimited) : result?.error ?? null;
      if (!failure && result && result.error === null) {
        entry.status = "active";
        entry.attempt = 0;
        // Recovered: Relay sent the missed events before any live one, so nothing needs refetching.
        if (entry.held && result.recovered !== true) resynced.push(entry.topic);
        // A recovered topic keeps the offsets of its replayed events; otherwise the result is the new baseline.
        if (result.recovered !== true || entry.offset === null) entry.offset = result.offset ?? null;
        entry.held = true;
        entry.settle();
      } else if (code !== null && TRANSIENT_ERROR_CODES.has(code)) {
        // Whole-call failures other than invalid_request (rate_limited, a dropped call) are retried too: a topic the
        // app holds is never silently dropped.
        entry.status = "waiting";
        entry.attempt++;
        retry = Math.max(retry, entry.attempt);
      } else {
        const refusal = failure ?? new RelayError(code ?? "unknown", result?.message ?? `Relay refused '${entry.topic}'`, entry.topic);
        const error = refusal.topic === entry.topic ? refusal : new RelayError(refusal.code, refusal.message, entry.topic);
        this.topics.delete(entry.topic);
        entry.settle(error);
        this.emit(this.errorListeners, error);
      }
    });

    if (retry > 0) this.scheduleRetry(retry);
    if (resynced.length > 0) this.emit(this.resyncListeners, { topics: resynced, reason: ResyncReasons.Reconnected });
  }

  private scheduleRetry(attempt: number): void {
    if (this.retryTimer !== undefined) return;
    const delay = jitteredDelay(attempt - 1, this.options.retryBaseDelayMs ?? 250, this.options.retryMaxDelayMs ?? 10_000, this.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const entry of this.topics.values()) {
        if (entry.status === "waiting") entry.status = "pending";
      }
      void this.flush();
    }, delay);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const entry of this.topics.values()) {
      if (entry.status === "waiting") entry.status = "pending";
    }
  }

  private dispatch(event: RelayEvent): void {
    const entry = this.topics.get(event.topic);
    if (!entry) return;
    if (event.offset != null) entry.offset = event.offset;
    for (const handler of [...entry.handlers]) {
      try {
        handler(event);
      } catch (error) {
        console.error(`relay: a handler for ${event.topic} failed`, error);
      }
    }
  }

  private setState(state: ConnectionState, error?: Error): void {
    this.currentState = state;
    for (const listener of [...this.stateListeners]) {
      try {
        listener(state, error);
      } catch (failure) {
        console.error("relay: a state listener failed", failure);
      }
    }
  }

  private emit<T>(listeners: Set<(value: T) => void>, value: T): void {
    for (const listener of [...listeners]) {
      try {
        listener(value);
      } catch (error) {
        console.error("relay: a listener failed", error);
      }
    }
  }
}

function buildConnection(hubUrl: string, options: RelayClientOptions): HubConnectionLike {
  const http: IHttpConnectionOptions = {
    transport: HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling,
    headers: options.headers,
    withCredentials: options.withCredentials ?? true,
  };
  const accessToken = options.accessToken;
  if (accessToken) http.accessTokenFactory = async () => (await accessToken()) ?? "";
  // No withAutomaticReconnect: RelayClient reconnects itself, so that every close it did not ask for — a drop, a
  // failed start, a draining server's close message — goes through the same loop. Stateful reconnect still bridges
  // short transport drops inside SignalR with nothing lost.
  return new HubConnectionBuilder()
    .withUrl(hubUrl, http)
    .withStatefulReconnect()
    .configureLogging(options.logLevel ?? LogLevel.Warning)
    .build();
}

/** Relay answered the negotiate with 401/403: retrying with the same token cannot succeed. */
function isAuthRefusal(error: unknown): boolean {
  const status = (error as { statusCode?: number } | undefined)?.statusCode;
  if (status === 401 || status === 403) return true;
  return /Status code '40[13]'/.test(error instanceof Error ? error.message : String(error));
}
