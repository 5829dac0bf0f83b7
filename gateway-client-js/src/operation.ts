import type { Conn } from "./connection.js";
import { GatewayError } from "./errors.js";
import { cancel, type Timer } from "./timers.js";

export type OpKind = "send" | "subscribe" | "unsubscribe" | "publish" | "raw" | "refresh" | "resubscribe";

/**
 * One operation: queued, then in flight until its ack, error, timeout or the end of its connection.
 * Application operations (`counted`) have a promise and count against `maxPendingSends`; the
 * client's own (refresh, re-subscribe) report through events instead.
 */
export class Op {
  readonly promise: Promise<void> | undefined;
  timer: Timer | undefined;
  /** The connection it was written on. */
  conn: Conn | undefined;
  /** How many times this re-subscribe was tried before, for its backoff. */
  attempt = 0;
  private resolveFn: (() => void) | undefined;
  private rejectFn: ((e: GatewayError) => void) | undefined;
  private finished = false;

  constructor(
    readonly kind: OpKind,
    /** Undefined only for a raw frame without an id, which completes once written. */
    readonly id: string | undefined,
    readonly frame: string,
    readonly topic: string | undefined,
    readonly token: string | undefined,
    readonly counted: boolean,
    private readonly onFinish: (op: Op) => void,
  ) {
    if (counted) {
      this.promise = new Promise<void>((resolve, reject) => {
        this.resolveFn = resolve;
        this.rejectFn = reject;
      });
    }
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Ends the operation without settling a promise (the client's own operations). */
  finish(): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    cancel(this.timer);
    if (this.counted && this.id !== undefined && this.conn !== undefined) {
      this.conn.inflight--;
    }
    this.onFinish(this);
  }

  succeed(): void {
    if (!this.finished) {
      this.finish();
      this.resolveFn?.();
    }
  }

  fail(error: GatewayError): void {
    if (!this.finished) {
      this.finish();
      this.rejectFn?.(error);
    }
  }
}
