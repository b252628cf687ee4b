import type { SubscriptionOptions } from "./protocol.js";

/**
 * A canonical text of `options` for comparing two subscriptions of a topic by value, as Relay.Client and the server
 * compare them: keys sorted (by code unit, as the server orders them for PocketBase), an empty or missing section the
 * same as none. Comparing `JSON.stringify` of the objects themselves refused the same options written in another key
 * order with `invalid_options`.
 */
export function optionsKey(options: SubscriptionOptions | null | undefined): string {
  return JSON.stringify([sorted(options?.query), sorted(options?.headers)]);
}

function sorted(section: Record<string, string> | undefined): Array<[string, string]> {
  if (!section) return [];
  return Object.entries(section).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
