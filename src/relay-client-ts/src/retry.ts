/**
 * Exponential backoff with "equal jitter", capped: attempt `n` waits between half and all of `min(max, base * 2^n)`.
 * Clients dropped together (a Relay restart, a drain) do not come back together.
 */
export function jitteredDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return ceiling / 2 + random() * (ceiling / 2);
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
