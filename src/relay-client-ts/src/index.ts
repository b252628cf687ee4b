export { RelayClient } from "./client.js";
export type { ConnectionState, EventHandler, HubConnectionLike, RelayClientOptions, RelaySubscription } from "./client.js";
export { RelayError, isUnknownMethod } from "./errors.js";
export { jitteredDelay, jitteredRetryPolicy } from "./retry.js";
export * from "./protocol.js";
