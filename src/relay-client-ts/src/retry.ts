import type { IRetryPolicy, RetryContext } from "@microsoft/signalr";

/** Exponential backoff with "equal jitter", capped: attempt `n` waits between half and all of `min(max, base * 2^n)`. */
export function jitteredDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** The same backoff as a SignalR retry policy that never gives up: clients dropped together do not come back together. */
export function jitteredRetryPolicy(baseMs: number, maxMs: number, random: () => number = Math.random): IRetryPolicy {
  return {
    nextRetryDelayInMilliseconds: (context: RetryContext) => jitteredDelay(context.previousRetryCount, baseMs, maxMs, random),
  };
}

/** A delay that a `cancel()` ends early (resolving `false`), so `stop()` never waits out a backoff. */
export function cancellableDelay(ms: number): { done: Promise<boolean>; cancel: () => void } {
  let finish!: (elapsed: boolean) => void;
  const done = new Promise<boolean>((resolve) => (finish = resolve));
  const timer = setTimeout(() => finish(true), ms);
  return {
    done,
    cancel: () => {
      clearTimeout(timer);
      finish(false);
    },
  };
}
