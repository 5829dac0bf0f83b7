import { MAX_TIMER_DELAY } from "./options.js";
import type { Clock } from "./types.js";

/** A cancellable timer of any length: waits beyond setTimeout's 2^31-1 ms are re-armed in steps. */
export class Timer {
  private handle: unknown;
  private cancelled = false;

  constructor(private readonly clock: Clock, ms: number, fn: () => void) {
    const due = clock.now() + Math.max(0, ms);
    const arm = (wait: number) => {
      this.handle = clock.setTimeout(() => {
        if (this.cancelled) {
          return;
        }
        const left = due - clock.now();
        if (left > 0 && wait >= MAX_TIMER_DELAY) {
          arm(Math.min(left, MAX_TIMER_DELAY));
        } else {
          this.cancelled = true;
          fn();
        }
      }, wait);
    };
    arm(Math.min(Math.max(0, ms), MAX_TIMER_DELAY));
  }

  cancel(): void {
    if (!this.cancelled) {
      this.cancelled = true;
      this.clock.clearTimeout(this.handle);
    }
  }
}

/** Cancels each timer given (undefined ones are skipped). */
export function cancel(...timers: (Timer | undefined)[]): void {
  for (const t of timers) {
    t?.cancel();
  }
}
