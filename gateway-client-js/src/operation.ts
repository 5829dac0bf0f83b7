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

/**
 * A client's operations between the call and their end: queued while there is no connection to write
 * them on, then in flight until their ack, error or timeout, or the end of their connection. The one
 * place where the application's operations are bounded (`maxPendingSends`).
 */
export class Operations {
  /** In call order (a Set keeps insertion order and deletes in O(1)). */
  private readonly queued = new Set<Op>();
  private readonly inflight = new Map<string, Op>();
  private count = 0;
  private ids = 0;

  constructor(private readonly maxPending: number) {}

  /** Application operations queued or in flight. */
  get pending(): number {
    return this.count;
  }

  /** A new frame id, unique within the client. */
  nextId(): string {
    return "c" + ++this.ids;
  }

  /** Whether another application operation may be added. */
  hasRoom(): boolean {
    return this.count < this.maxPending;
  }

  /** A new application operation, counted against the bound until it ends. */
  create(kind: OpKind, id: string | undefined, frame: string, topic: string | undefined): Op {
    this.count++;
    return new Op(kind, id, frame, topic, undefined, true, () => this.count--);
  }

  enqueue(op: Op): void {
    this.queued.add(op);
  }

  /** The queued operations, in call order (a copy). */
  queue(): Op[] {
    return [...this.queued];
  }

  dequeue(op: Op): void {
    this.queued.delete(op);
  }

  /** Records an operation written with an id, until its answer. */
  written(op: Op): void {
    if (op.id !== undefined) {
      this.inflight.set(op.id, op);
    }
  }

  /** The operation in flight under `id`, no longer in flight. */
  answered(id: string | undefined): Op | undefined {
    if (id === undefined) {
      return undefined;
    }
    const op = this.inflight.get(id);
    if (op !== undefined) {
      this.inflight.delete(id);
    }
    return op;
  }

  /** Forgets `op` wherever it is (its timeout passed). */
  forget(op: Op): void {
    this.queued.delete(op);
    if (op.id !== undefined && this.inflight.get(op.id) === op) {
      this.inflight.delete(op.id);
    }
  }

  /** Fails every queued operation. */
  failQueued(error: GatewayError): void {
    const all = [...this.queued];
    this.queued.clear();
    for (const op of all) {
      op.fail(error);
    }
  }

  /** The operations in flight on `conn` (all of them without it), no longer in flight. */
  takeInflight(conn?: Conn): Op[] {
    const taken: Op[] = [];
    for (const [id, op] of this.inflight) {
      if (conn === undefined || op.conn === conn) {
        this.inflight.delete(id);
        taken.push(op);
      }
    }
    return taken;
  }
}
