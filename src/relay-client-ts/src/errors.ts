import { TRANSIENT_ERROR_CODES } from "./protocol.js";

/** Relay refused a call; `code` is one of the codes in docs/protocol.md (`invalid_topic`, `rate_limited`, ...). */
export class RelayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The topic the refusal is about, when it is about one. */
    readonly topic?: string,
  ) {
    super(message);
    this.name = "RelayError";
  }

  /** Whether the same call may succeed later (`rate_limited`, `upstream_unavailable`). */
  get transient(): boolean {
    return TRANSIENT_ERROR_CODES.has(this.code);
  }

  /** Reads Relay's code from a SignalR error (`... HubException: code: explanation`); `unknown` when it carries none. */
  static from(error: unknown, topic?: string): RelayError {
    if (error instanceof RelayError) return error;
    const message = error instanceof Error ? error.message : String(error);
    const marker = "HubException: ";
    const at = message.indexOf(marker);
    const text = at >= 0 ? message.slice(at + marker.length) : message;
    const colon = text.indexOf(":");
    const code = colon > 0 && /^[a-z_]+$/.test(text.slice(0, colon)) ? text.slice(0, colon) : "unknown";
    return new RelayError(code, text, topic);
  }
}

/**
 * Whether `error` says the server has no such hub method: SignalR answers an unknown method with a binding failure
 * ("Failed to invoke 'X' due to an error on the server"), which a version-1 Relay gives for `SubscribeMany`.
 */
export function isUnknownMethod(error: unknown, method: string): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return message.includes(`Failed to invoke '${method}'`) || message.includes(`Unknown hub method '${method}'`);
}
