import {
  HttpTransportType,
  HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  LogLevel,
  type IRetryPolicy,
  type RetryContext,
} from "@microsoft/signalr";

/** A record change, as Relay delivers it (docs/protocol.md). */
export interface RelayEvent<TRecord = Record<string, unknown>> {
  /** The topic as subscribed, without options: `COLLECTION/*` or `COLLECTION/RECORD_ID`. */
  topic: string;
  action: "create" | "update" | "delete";
  /** PocketBase's record JSON, unchanged. */
  record: TRecord & { id: string; collectionName?: string };
}

/** Events for `topics` may have been lost; refetch them. */
export interface ResyncSignal {
  topics: string[];
  reason: "upstream_reconnected" | "overflow" | "reconnected" | string;
}

/** PocketBase options passed through to the subscription (`expand`, `fields`, `filter`, headers). */
export interface SubscriptionOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface RelayClientOptions {
  /** Relay's base URL, e.g. `http://127.0.0.1:5080`; `/realtime` is appended. */
  url: string;
  /** Returns the user's PocketBase token (called on every connect); `null`/`undefined` connects as a guest. */
  accessToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** First reconnect delay in ms (doubles per attempt, jittered, never gives up). Default 200. */
  reconnectBaseDelayMs?: number;
  /** Longest reconnect delay in ms. Default 10000. */
  reconnectMaxDelayMs?: number;
  /** SignalR log level. Default: warnings. */
  logLevel?: LogLevel;
}

/** Relay refused a call; `code` is one of the codes in docs/protocol.md (`invalid_topic`, `rate_limited`, ...). */
export class RelayError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "RelayError";
  }

  static from(error: unknown): RelayError {
    const message = error instanceof Error ? error.message : String(error);
    const marker = "HubException: ";
    const start = message.indexOf(marker) >= 0 ? message.indexOf(marker) + marker.length : 0;
    const text = message.slice(start);
    const colon = text.indexOf(":");
    const code = colon > 0 && /^[a-z_]+$/.test(text.slice(0, colon)) ? text.slice(0, colon) : "unknown";
    return new RelayError(code, text);
  }
}

type Handler = (event: RelayEvent) => void;

/** Exponential backoff with "equal jitter", forever: clients dropped together do not come back together. */
export function jitteredRetryPolicy(baseMs: number, maxMs: number, random: () => number = Math.random): IRetryPolicy {
  return {
    nextRetryDelayInMilliseconds(context: RetryContext): number {
      const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(context.previousRetryCount, 30));
      return ceiling / 2 + random() * (ceiling / 2);
    },
  };
}

/**
 * A connection to Relay. Several `subscribe` calls for one topic share one subscription on Relay; the client
 * reconnects on its own (stateful reconnect bridges short drops with nothing lost), and after a full reconnect it
 * subscribes again and raises `onResync` with reason `reconnected`, because events in the gap are lost.
 */
export class RelayClient {
  readonly connection: HubConnection;
  private readonly topics = new Map<string, { options?: SubscriptionOptions; handlers: Set<Handler> }>();
  private readonly resyncListeners = new Set<(signal: ResyncSignal) => void>();
  private readonly authExpiredListeners = new Set<(reason: string) => void>();

  constructor(options: RelayClientOptions) {
    if (!/^https?:\/\//.test(options.url)) {
      throw new TypeError(`url must be an absolute http(s) URL, not '${options.url}'`);
    }

    this.connection = new HubConnectionBuilder()
      .withUrl(options.url.replace(/\/$/, "") + "/realtime", {
        transport: HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling,
        accessTokenFactory: async () => (await options.accessToken?.()) ?? "",
      })
      .withAutomaticReconnect(jitteredRetryPolicy(options.reconnectBaseDelayMs ?? 200, options.reconnectMaxDelayMs ?? 10_000))
      .withStatefulReconnect()
      .configureLogging(options.logLevel ?? LogLevel.Warning)
      .build();

    this.connection.on("Event", (event: RelayEvent) => {
      for (const handler of this.topics.get(event.topic)?.handlers ?? []) {
        try {
          handler(event);
        } catch (error) {
          console.error(`relay: a handler for ${event.topic} failed`, error);
        }
      }
    });
    this.connection.on("Resync", (signal: ResyncSignal) => this.emitResync(signal));
    this.connection.on("AuthExpired", (signal: { reason: string }) => this.authExpiredListeners.forEach((l) => l(signal.reason)));
    this.connection.onreconnected(() => this.resubscribeAll());
  }

  private async resubscribeAll(): Promise<void> {
    const restored: string[] = [];
    for (const [topic, entry] of this.topics) {
      try {
        await this.connection.invoke("Subscribe", topic, entry.options ?? null);
        restored.push(topic);
      } catch (error) {
        console.warn(`relay: subscribing ${topic} again failed`, error);
      }
    }

    if (restored.length > 0) {
      this.emitResync({ topics: restored, reason: "reconnected" });
    }
  }

  get state(): HubConnectionState {
    return this.connection.state;
  }

  /** Connects. After a `stop()`, subscribes every held topic again and raises `onResync` (events in the gap are lost). */
  async start(): Promise<void> {
    await this.connection.start();
    if (this.topics.size > 0) {
      await this.resubscribeAll();
    }
  }

  stop(): Promise<void> {
    return this.connection.stop();
  }

  /** Called when events may have been lost for the listed topics. Returns a function that removes the listener. */
  onResync(listener: (signal: ResyncSignal) => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** Called when PocketBase no longer accepts the token; the connection closes next. */
  onAuthExpired(listener: (reason: string) => void): () => void {
    this.authExpiredListeners.add(listener);
    return () => this.authExpiredListeners.delete(listener);
  }

  /**
   * Subscribes `handler` to `topic` (`COLLECTION/*` or `COLLECTION/RECORD_ID`). Resolves once PocketBase holds the
   * subscription; rejects with a `RelayError` carrying Relay's code. Returns the unsubscribe function.
   */
  async subscribe(topic: string, handler: Handler, options?: SubscriptionOptions): Promise<() => Promise<void>> {
    const existing = this.topics.get(topic);
    if (existing) {
      if (JSON.stringify(existing.options ?? null) !== JSON.stringify(options ?? null)) {
        throw new RelayError("invalid_options", `'${topic}' is already subscribed with other options`);
      }
      existing.handlers.add(handler);
    } else {
      try {
        await this.connection.invoke("Subscribe", topic, options ?? null);
      } catch (error) {
        throw RelayError.from(error);
      }
      const current = this.topics.get(topic);
      if (current) {
        current.handlers.add(handler);
      } else {
        this.topics.set(topic, { options, handlers: new Set([handler]) });
      }
    }

    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const entry = this.topics.get(topic);
      if (!entry) return;
      entry.handlers.delete(handler);
      if (entry.handlers.size === 0) {
        this.topics.delete(topic);
        if (this.connection.state === HubConnectionState.Connected) {
          await this.connection.send("Unsubscribe", topic);
        }
      }
    };
  }

  /** Hands Relay a fresh token of the same user without reconnecting. */
  async reauthenticate(token: string): Promise<void> {
    try {
      await this.connection.invoke("Reauthenticate", token);
    } catch (error) {
      throw RelayError.from(error);
    }
  }

  private emitResync(signal: ResyncSignal): void {
    for (const listener of this.resyncListeners) {
      try {
        listener(signal);
      } catch (error) {
        console.error("relay: a resync listener failed", error);
      }
    }
  }
}
