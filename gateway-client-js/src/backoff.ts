/**
 * Exponential backoff with full jitter: attempt `n` (from 0) waits a uniformly random time in
 * `[0, min(max, base * 2^n)]`. Full jitter spreads a crowd of clients that lost one instance over
 * the whole window instead of bunching them at its end. Immutable.
 */
export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;

  constructor(baseMs: number, maxMs: number) {
    this.baseMs = Math.max(1, Math.floor(baseMs));
    this.maxMs = Math.max(this.baseMs, Math.floor(maxMs));
  }

  /** The upper bound of the wait before attempt `attempt`: `min(max, base * 2^attempt)`. */
  ceilingMs(attempt: number): number {
    // 2^attempt overflows to Infinity long after the cap is reached; min() keeps it finite.
    return Math.min(this.maxMs, this.baseMs * Math.pow(2, Math.max(0, attempt)));
  }

  /** The wait before attempt `attempt`; `random` yields values in `[0, 1)`. */
  delayMs(attempt: number, random: () => number): number {
    return Math.floor(random() * (this.ceilingMs(attempt) + 1));
  }
}
