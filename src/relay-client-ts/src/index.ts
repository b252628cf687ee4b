// The package root: what an app needs to connect, subscribe and read Relay's codes. Named one by one (no `export *`)
// so that an internal (the backoff, the wire method names, the version-1 fallback's error test) never becomes public
// API by being exported from its module for the client's own use.
export { RelayClient } from "./client.js";
export type { ConnectionState, EventHandler, HubConnectionLike, RelayClientOptions, RelaySubscription } from "./client.js";
export { RelayError } from "./errors.js";
export { AuthExpiredReasons, ErrorCodes, RelayActions, ResyncReasons } from "./protocol.js";
export type {
  AuthExpiredReason,
  AuthExpiredSignal,
  ErrorCode,
  RelayAction,
  RelayEvent,
  ResyncReason,
  ResyncSignal,
  SubscriptionOptions,
} from "./protocol.js";
