// The Relay hub contract (docs/protocol.md) in one place: every wire name the client sends or handles comes from here.

/** The path the Relay hub is mapped to. */
export const HUB_PATH = "/realtime";

/** The highest protocol version this client understands; declared on the hub URL. */
export const PROTOCOL_VERSION = 2;

/** The query-string parameter that declares the protocol version (`/realtime?relay_protocol=2`). */
export const VERSION_PARAMETER = "relay_protocol";

/** Hub methods the client invokes. */
export const HubMethods = {
  Subscribe: "Subscribe",
  SubscribeMany: "SubscribeMany",
  Unsubscribe: "Unsubscribe",
  Reauthenticate: "Reauthenticate",
} as const;

/** Methods the server invokes on the client. */
export const ClientMethods = {
  Event: "Event",
  Events: "Events",
  Resync: "Resync",
  AuthExpired: "AuthExpired",
} as const;

/** Relay's stable error codes (the text before the first `:` of a refused call's message). */
export const ErrorCodes = {
  InvalidTopic: "invalid_topic",
  InvalidOptions: "invalid_options",
  TopicNotAllowed: "topic_not_allowed",
  TooManySubscriptions: "too_many_subscriptions",
  InvalidToken: "invalid_token",
  TokenUserMismatch: "token_user_mismatch",
  RateLimited: "rate_limited",
  TooManyConnections: "too_many_connections",
  UpstreamUnavailable: "upstream_unavailable",
  SubscriptionRefused: "subscription_refused",
  InvalidRequest: "invalid_request",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Codes after which the same subscription may succeed later; every other refusal is final. */
export const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set([ErrorCodes.RateLimited, ErrorCodes.UpstreamUnavailable]);

/** Why Relay (or the client itself) raised a `Resync` (docs/protocol.md, "Resync"). */
export const ResyncReasons = {
  /** Relay's stream from PocketBase was lost unplanned and re-established; PocketBase does not replay the gap. */
  UpstreamReconnected: "upstream_reconnected",
  /** The connection read too slowly and Relay dropped its queued events. */
  Overflow: "overflow",
  /** Raised by the client after a full reconnect, for the topics Relay could not recover; never sent by the server. */
  Reconnected: "reconnected",
} as const;

export type ResyncReason = (typeof ResyncReasons)[keyof typeof ResyncReasons];

/** Why Relay sent `AuthExpired` (docs/protocol.md, "AuthExpired"). */
export const AuthExpiredReasons = {
  /** PocketBase refused to refresh the token: the user was deleted, changed their password, or the token key changed. */
  TokenRevoked: "token_revoked",
  /** The token expired before Relay could refresh it (PocketBase was unreachable until after its expiry). */
  TokenExpired: "token_expired",
} as const;

export type AuthExpiredReason = (typeof AuthExpiredReasons)[keyof typeof AuthExpiredReasons];

/** The record actions PocketBase reports, as they appear in `RelayEvent.action`. */
export const RelayActions = {
  Create: "create",
  Update: "update",
  Delete: "delete",
} as const;

export type RelayAction = (typeof RelayActions)[keyof typeof RelayActions];

/** A record change, as Relay delivers it. */
export interface RelayEvent<TRecord = Record<string, unknown>> {
  /** The topic as subscribed, without options: `COLLECTION/*` or `COLLECTION/RECORD_ID`. */
  topic: string;
  action: RelayAction;
  /** PocketBase's record JSON, unchanged. */
  record: TRecord & { id: string; collectionName?: string };
  /**
   * Where the event stands in its session's history (protocol version 2): opaque, increasing within one session
   * incarnation, never equal across incarnations. Sent back as `since` on a resubscribe to recover missed events.
   */
  offset?: string | null;
}

/** Events for `topics` may have been lost; refetch them. */
export interface ResyncSignal {
  topics: string[];
  /** One of `ResyncReasons`; a newer Relay may send a reason this client does not know (treat it as any resync). */
  reason: ResyncReason | (string & {});
}

/** The connection's user lost its PocketBase authorization. */
export interface AuthExpiredSignal {
  /** One of `AuthExpiredReasons`; a newer Relay may send another. */
  reason: AuthExpiredReason | (string & {});
}

/** PocketBase options passed through to the subscription (`expand`, `fields`, `filter`, headers). */
export interface SubscriptionOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

/** One entry of `SubscribeMany`. */
export interface SubscribeRequest {
  topic: string;
  options: SubscriptionOptions | null;
  /** The last offset seen for this topic (an event's, or a result's when no event came since); omitted when none. */
  since?: string | null;
}

/** The outcome of one `SubscribeMany` entry, in request order; `error` is null on success. */
export interface SubscribeResult {
  topic: string;
  error: string | null;
  message: string | null;
  /** True when every event after `since` was (or is being) sent before any live one: no refetch needed. */
  recovered?: boolean;
  /** The session's history position at subscribe time: a baseline `since` for a topic that has had no event. */
  offset?: string | null;
}
