import { Backoff } from "./backoff.js";
import { CloseCodes, Conn, errorText } from "./connection.js";
import { Delivery } from "./delivery.js";
import { Emitter } from "./emitter.js";
import { ErrorCodes, GapCodes, GatewayError } from "./errors.js";
import { checkName, dataJson, operationFrame, parseServerFrame, subscribeFrame, type ServerFrame } from "./frames.js";
import { jwtExpiresAt } from "./jwt.js";
import { Op, Operations, type OpKind } from "./operation.js";
import { checkToken, checkUrl, checkWhenDisconnected, positive, resolveOptions, type ClientOptions,
  type ResolvedOptions } from "./options.js";
import { cancel, Timer } from "./timers.js";
import type { CallOptions, ClientEvents, ClientState, ErrorEvent, TokenProvider, Welcome } from "./types.js";

/**
 * Server error codes (docs/protocol.md) that say a re-subscribe may succeed later: the recovery store
 * did not answer, or the client sent too much at once. Such a re-subscribe is retried with backoff on
 * the same connection instead of dropping the topic; its catch-up covers the wait.
 */
const RETRYABLE = new Set(["store_unavailable", "rate_limited"]);
/**
 * After a reconnect hint's delay, how long the client waits for the acks of what it wrote before it
 * closes: browsers drop what arrives after close(), and an ack lost that way would fail its send with
 * `connection_lost` although the gateway took it. Messages need no such wait: the resume replays them.
 */
export const LEAVE_ACK_GRACE = 1_000;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: GatewayError): void;
}

/**
 * A client of the gateway's default protocol for browsers and Node. It keeps one WebSocket open:
 * reconnects with backoff (full jitter), follows the server's reconnect hints, refreshes its token
 * before it expires, resumes its session (`session`, `last_seq`) and subscribes again to every topic
 * with `since` and `epoch` after every reconnect, so the application sees every message exactly once
 * and in order, and is told by a `gap` event when something could not be recovered.
 *
 * Single-threaded like everything in JavaScript; listeners run synchronously, on the client's events,
 * and should not block. `close()` releases everything.
 */
export class GatewayClient extends Emitter<ClientEvents> {
  private readonly o: ResolvedOptions;
  private readonly backoff: Backoff;
  private readonly delivery: Delivery;
  private tokenSource: string | TokenProvider;
  private readonly ops: Operations;
  private current: Conn | undefined;
  private attempts = 0;
  private currentState: ClientState = "disconnected";
  private sessionId: string | undefined;
  private lastWelcome: Welcome | undefined;
  private connecting: Deferred<Welcome> | undefined;
  private reconnectTimer: Timer | undefined;
  private refreshTimer: Timer | undefined;
  /** Re-subscribes waiting for their backoff; cancelled by close() so that nothing keeps a Node process alive. */
  private readonly retryTimers = new Set<Timer>();
  private closing: Promise<void> | undefined;

  /**
   * @throws TypeError or RangeError if an option is invalid (the message names it, the value and what was expected)
   */
  constructor(options: ClientOptions) {
    super();
    this.o = resolveOptions(options);
    this.tokenSource = options.token;
    this.backoff = new Backoff(this.o.reconnectBackoffMin, this.o.reconnectBackoffMax);
    this.ops = new Operations(this.o.maxPendingSends);
    this.delivery = new Delivery((m) => this.emit("message", m), (g) => this.emit("gap", g));
  }

  // ---------------------------------------------------------------- public API

  /** Where the client is; see {@link ClientState}. */
  get state(): ClientState {
    return this.currentState;
  }

  /** The session id of the last welcome, undefined before the first. */
  get session(): string | undefined {
    return this.sessionId;
  }

  /** The last direct message's seq delivered (or skipped after a gap) in this session: what a resume continues after. */
  get lastSeq(): number {
    return this.delivery.lastSeq;
  }

  /** The last welcome, undefined before the first. */
  get welcome(): Welcome | undefined {
    return this.lastWelcome;
  }

  /** The topics subscribed, in subscription order. */
  get subscriptions(): string[] {
    return this.delivery.topics.list();
  }

  /**
   * Connects; resolves with the first welcome. Rejects with `client_closed` if `close()` is called
   * first, or with the server's code (`token_expired`, `bad_signature`, ...) when the first
   * handshake is refused with a 4xx other than 429 and the WebSocket implementation tells the status
   * (Node's `ws`; browsers cannot see it, so there the client retries with backoff, reporting
   * `connect_failed` events). Otherwise failed attempts are retried with backoff. Calling it again
   * while connecting or connected returns the same promise.
   */
  connect(): Promise<Welcome> {
    if (this.currentState === "closed") {
      return Promise.reject(new GatewayError(ErrorCodes.CLIENT_CLOSED, "client is closed"));
    }
    if (this.connecting === undefined) {
      this.connecting = deferred();
      if (this.currentState === "connected" && this.lastWelcome !== undefined) {
        this.connecting.resolve(this.lastWelcome);
      }
    }
    const promise = this.connecting.promise;
    if (this.currentState === "disconnected") {
      this.setState("connecting");
      this.attempt();
    }
    return promise;
  }

  /**
   * Sends `data` (any JSON value) to every connection of user `to`. Resolves on the server's ack (with
   * a recovery store: the message is kept for every resumable session of `to`); rejects with the
   * server's code (`user_offline`, `not_authorized`, `store_unavailable`, ...) or the client's
   * (`ack_timeout`, `connection_lost`, `client_overloaded`, `not_connected`, `client_closed`, ...).
   */
  send(to: string, data: unknown, options?: CallOptions): Promise<void> {
    return this.dataOperation("send", "to", to, data, options);
  }

  /** Publishes `data` to `topic`; resolves on the ack (the topic's history kept it), rejects like {@link send}. */
  publish(topic: string, data: unknown, options?: CallOptions): Promise<void> {
    return this.dataOperation("publish", "topic", topic, data, options);
  }

  /**
   * Subscribes to `topic`, remembered until {@link unsubscribe}: after every reconnect the client
   * subscribes again and catches up from the last offset it delivered. Resolves on the ack; a refusal
   * (`not_authorized`, `limit_exceeded`, ...) rejects and forgets the topic.
   */
  subscribe(topic: string, options?: CallOptions): Promise<void> {
    const invalid = checkName("topic", topic);
    if (invalid !== undefined) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, invalid));
    }
    return this.call("subscribe", topic, (id) => operationFrame("subscribe", id, "topic", topic), options);
  }

  /** Unsubscribes from `topic` and forgets its position; resolves on the ack. */
  unsubscribe(topic: string, options?: CallOptions): Promise<void> {
    const invalid = checkName("topic", topic);
    if (invalid !== undefined) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, invalid));
    }
    return this.call("unsubscribe", topic, (id) => operationFrame("unsubscribe", id, "topic", topic),
      options);
  }

  /**
   * Sends a frame of the application's own type (an object with a string `type`, or its JSON text).
   * With an `id` it resolves on the matching ack and rejects on the matching error; without, once
   * written. Subscriptions made this way are not remembered.
   */
  sendFrame(frame: Record<string, unknown> | string, options?: CallOptions): Promise<void> {
    let text: string;
    let parsed: unknown;
    try {
      text = typeof frame === "string" ? frame : JSON.stringify(frame);
      parsed = JSON.parse(text);
    } catch (e) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, "frame: " + errorText(e)));
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)
      || typeof (parsed as { type?: unknown }).type !== "string") {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, "frame: (expected: a JSON object with a string type)"));
    }
    const rawId = (parsed as { id?: unknown }).id;
    const id = typeof rawId === "string" || (typeof rawId === "number" && Number.isInteger(rawId)) ? String(rawId)
      : undefined;
    return this.call("raw", undefined, () => text, options, id === undefined ? null : id);
  }

  /**
   * Replaces the token source for the next attempts and refreshes, e.g. after the client stopped at a
   * 4001 with a string token (then call {@link connect} again: it resumes the session).
   */
  setToken(token: string | TokenProvider): void {
    checkToken(token);
    this.tokenSource = token;
  }

  /**
   * Closes with 1000, fails pending operations with `client_closed` and stops reconnecting; final.
   * Resolves when the socket is closed (at most about two seconds).
   */
  close(): Promise<void> {
    if (this.closing !== undefined) {
      return this.closing;
    }
    this.setState("closed");
    cancel(this.reconnectTimer, this.refreshTimer, ...this.retryTimers);
    this.retryTimers.clear();
    const closed = new GatewayError(ErrorCodes.CLIENT_CLOSED, "client is closed");
    this.ops.failQueued(closed);
    for (const op of this.ops.takeInflight()) {
      op.fail(closed);
      op.finish();
    }
    this.rejectConnect(closed);
    const conn = this.current;
    this.current = undefined;
    if (conn === undefined) {
      this.closing = Promise.resolve();
    } else {
      this.closing = conn.whenEnded();
      conn.closeGracefully();
    }
    return this.closing;
  }

  override toString(): string {
    return "GatewayClient{state=" + this.currentState + ", session=" + this.sessionId + ", lastSeq="
      + this.delivery.lastSeq + ", subscriptions=" + this.delivery.topics.list().length + ", pending=" + this.ops.pending
      + "}";
  }

  // ---------------------------------------------------------------- operations

  private dataOperation(type: "send" | "publish", key: "to" | "topic", name: string, data: unknown,
    options: CallOptions | undefined): Promise<void> {
    const invalid = checkName(key, name);
    if (invalid !== undefined) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, invalid));
    }
    let json: string | undefined;
    try {
      json = dataJson(data);
    } catch (e) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, "data: " + errorText(e)));
    }
    if (json === undefined) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME,
        "data: " + typeof data + " (expected: a JSON value; use null for none)"));
    }
    return this.call(type, type === "publish" ? name : undefined,
      (id) => operationFrame(type, id, key, name, json), options);
  }

  /**
   * Checks, counts and queues or writes an application operation.
   *
   * @param fixedId for raw frames: their own id, or null for none
   */
  private call(kind: OpKind, topic: string | undefined, build: (id: string) => string,
    options: CallOptions | undefined, fixedId?: string | null): Promise<void> {
    if (this.currentState === "closed") {
      return Promise.reject(new GatewayError(ErrorCodes.CLIENT_CLOSED, "client is closed"));
    }
    let mode;
    let timeout;
    try {
      mode = checkWhenDisconnected(options?.whenDisconnected ?? this.o.whenDisconnected);
      timeout = positive("timeout", options?.timeout, this.o.ackTimeout);
    } catch (e) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, errorText(e)));
    }
    if (mode === "reject" && this.currentState !== "connected") {
      return Promise.reject(new GatewayError(ErrorCodes.NOT_CONNECTED, "not connected (" + this.currentState + ")"));
    }
    if (!this.ops.hasRoom()) {
      return Promise.reject(new GatewayError(ErrorCodes.CLIENT_OVERLOADED,
        "more than " + this.o.maxPendingSends + " operations pending"));
    }
    const id = fixedId === undefined ? this.ops.nextId() : fixedId === null ? undefined : fixedId;
    const frame = build(id ?? "");
    if (frame.length > this.o.maxMessageSize / 3 && utf8Length(frame) > this.o.maxMessageSize) {
      return Promise.reject(new GatewayError(ErrorCodes.FRAME_TOO_LARGE,
        "frame of " + utf8Length(frame) + " bytes (expected: <= maxMessageSize " + this.o.maxMessageSize + ")"));
    }
    const op = this.ops.create(kind, id, frame, topic);
    op.timer = new Timer(this.o.clock, timeout, () => this.onOpTimeout(op, timeout));
    if (kind === "subscribe" && topic !== undefined) {
      this.delivery.topics.add(topic);
    } else if (kind === "unsubscribe" && topic !== undefined) {
      this.delivery.topics.remove(topic);
    }
    const conn = this.writable();
    if (conn !== undefined) {
      this.write(conn, op);
    } else {
      this.ops.enqueue(op);
    }
    return op.promise as Promise<void>;
  }

  /** The connection operations are written on now, if any. */
  private writable(): Conn | undefined {
    const c = this.current;
    return this.currentState === "connected" && c !== undefined && c.welcomed && !c.leaving && !c.closingByUs
      && !c.discarding ? c : undefined;
  }

  private write(conn: Conn, op: Op): void {
    if (op.id !== undefined) {
      this.ops.written(op);
      op.conn = conn;
      if (op.counted) {
        conn.inflight++;
      }
    }
    const written = conn.send(op.frame);
    if (op.id === undefined) {
      if (written) {
        op.succeed();
      } else {
        op.fail(new GatewayError(ErrorCodes.CONNECTION_LOST, "the connection closed before the frame was written"));
      }
    }
    // An operation with an id that could not be written fails with the end of its connection.
  }

  private onOpTimeout(op: Op, timeout: number): void {
    if (op.isFinished) {
      return;
    }
    this.ops.forget(op);
    const what = "no ack for " + op.kind + " within " + timeout + " ms";
    const conn = op.conn;
    if (op.kind === "resubscribe") {
      op.finish();
      this.retryResubscribe(op);
    } else if (op.kind === "refresh") {
      op.finish();
      this.emitError({ code: ErrorCodes.REFRESH_FAILED, message: what });
    } else {
      op.fail(new GatewayError(ErrorCodes.ACK_TIMEOUT, what));
    }
    this.maybeLeave(conn);
  }

  // ---------------------------------------------------------------- connecting

  private attempt(): void {
    this.reconnectTimer = undefined;
    if (this.currentState === "closed" || this.currentState === "disconnected") {
      return;
    }
    const conn = new Conn(this.o.clock, { onText: (c, t) => this.onText(c, t), onEnd: (c) => this.onEnd(c) });
    this.current = conn;
    conn.connectTimer = new Timer(this.o.clock, this.o.connectTimeout, () => this.onConnectTimeout(conn));
    let base: string;
    let token: Promise<string>;
    const source = this.tokenSource;
    try {
      base = checkUrl(this.o.url());
      token = Promise.resolve(typeof source === "string" ? source : source());
    } catch (e) {
      conn.failure = errorText(e);
      conn.abort();
      return;
    }
    token.then((t) => {
      if (conn !== this.current || conn.isEnded) {
        return;
      }
      if (typeof t !== "string" || t.length === 0) {
        conn.failure = "token provider returned " + (typeof t === "string" ? "an empty string" : typeof t);
        conn.abort();
        return;
      }
      if (typeof source === "string") {
        const exp = jwtExpiresAt(t);
        if (exp >= 0 && exp <= this.o.clock.now()) {
          // A token that cannot be renewed and has expired would be refused; browsers could not even tell why.
          this.stop(new GatewayError(ErrorCodes.TOKEN_EXPIRED, "the token expired at " + new Date(exp).toISOString()
            + " and is a string; setToken() then connect()"), undefined);
          return;
        }
      }
      conn.open(this.o.WebSocket, this.withQuery(base, t));
    }, (e) => {
      if (conn === this.current && !conn.isEnded) {
        conn.failure = "token provider failed: " + errorText(e);
        conn.abort();
      }
    });
  }

  private withQuery(base: string, token: string): string {
    const url = new URL(base);
    url.searchParams.set("access_token", token);
    if (this.sessionId !== undefined) {
      url.searchParams.set("session", this.sessionId);
      url.searchParams.set("last_seq", String(this.delivery.lastSeq));
    }
    return url.toString();
  }

  private onConnectTimeout(conn: Conn): void {
    if (conn === this.current && !conn.welcomed) {
      conn.failure = "no welcome within " + this.o.connectTimeout + " ms";
      conn.abort();
    }
  }

  /** An attempt ended before its welcome. */
  private attemptFailed(conn: Conn): void {
    const message = describeFailure(conn);
    const refused = conn.rejectStatus >= 400 && conn.rejectStatus < 500 && conn.rejectStatus !== 429;
    const code = refused ? rejectCode(conn) : undefined;
    if (refused && this.currentState === "connecting" && this.sessionId === undefined) {
      // The very first attempt was refused (bad token, wrong path): retrying cannot help; tell connect().
      this.stop(new GatewayError(code as string, message), undefined);
      return;
    }
    if (code === ErrorCodes.TOKEN_EXPIRED && typeof this.tokenSource === "string") {
      this.stop(new GatewayError(code, message + "; the token is a string: setToken() then connect()"), undefined);
      return;
    }
    this.emitError(withClose({ code: ErrorCodes.CONNECT_FAILED, message }, conn));
    this.setState("reconnecting");
    this.scheduleReconnect();
  }

  /** Stops trying: the client is disconnected until connect() is called again. */
  private stop(error: GatewayError, conn: Conn | undefined): void {
    const c = this.current;
    this.current = undefined;
    c?.abort();
    cancel(this.reconnectTimer, this.refreshTimer);
    this.ops.failQueued(error);
    this.setState("disconnected");
    this.rejectConnect(error);
    const event: ErrorEvent = { code: error.code, message: error.message };
    this.emitError(conn === undefined ? event : withClose(event, conn));
  }

  private scheduleReconnect(): void {
    const delay = this.backoff.delayMs(this.attempts, this.o.random);
    this.attempts = Math.min(this.attempts + 1, 62);
    this.reconnectTimer = new Timer(this.o.clock, delay, () => this.attempt());
  }

  /** Whatever ended a connection or attempt comes here, once. */
  private onEnd(conn: Conn): void {
    if (conn !== this.current) {
      return;
    }
    this.current = undefined;
    if (this.currentState === "closed" || this.currentState === "disconnected") {
      return;
    }
    if (!conn.welcomed) {
      this.attemptFailed(conn);
      return;
    }
    this.failInflight(conn);
    cancel(this.refreshTimer);
    this.refreshTimer = undefined;
    if (!conn.closingByUs) {
      if (conn.closeCode === CloseCodes.TOKEN_EXPIRED && typeof this.tokenSource === "string") {
        // No new token to reconnect with: retrying would only be refused.
        this.stop(new GatewayError(ErrorCodes.TOKEN_EXPIRED, "closed by the server: 4001 " + conn.closeReason
          + "; the token is a string: setToken() then connect()"), conn);
        return;
      }
      // 1008 (idle timeout, slow consumer), 1013 (recovery store unavailable: the backoff spreads the
      // retries), 4001 with a token provider, 1000, 1001 and 1006 alike: report, then resume.
      this.emitError(withClose({ code: ErrorCodes.CONNECTION_LOST, message: describeClose(conn) }, conn));
    }
    this.setState("reconnecting");
    if (conn.reconnectNow) {
      this.attempt(); // a reconnect hint: the load balancer picks another instance, no reason to wait
    } else {
      this.scheduleReconnect();
    }
  }

  private failInflight(conn: Conn): void {
    for (const op of this.ops.takeInflight(conn)) {
      if (op.kind === "refresh" || op.kind === "resubscribe") {
        op.finish();
      } else {
        op.fail(new GatewayError(ErrorCodes.CONNECTION_LOST,
          "the connection closed before the ack; the server may or may not have handled it"));
      }
    }
  }

  // ---------------------------------------------------------------- frames

  private onText(conn: Conn, text: string): void {
    if (conn !== this.current) {
      return;
    }
    let f: ServerFrame;
    try {
      f = parseServerFrame(text);
    } catch {
      return; // not a protocol frame; nothing to act on
    }
    switch (f.type) {
      case "welcome":
        this.onWelcome(conn, f);
        break;
      case "message":
        this.onMessage(conn, f);
        break;
      case "ack":
        this.onAck(f);
        break;
      case "error":
        this.onServerError(f);
        break;
      case "reconnect":
        this.onReconnectHint(conn, f);
        break;
      case "gap":
        if (conn.welcomed && !conn.discarding) {
          this.delivery.gap(f); // ignored while discarding: the resume reports what is lost by then
        }
        break;
      default:
        this.emit("frame", f.raw);
    }
  }

  private onWelcome(conn: Conn, f: ServerFrame): void {
    if (conn.welcomed) {
      return;
    }
    conn.welcomed = true;
    cancel(conn.connectTimer);
    const previous = this.sessionId;
    const resumed = previous !== undefined && f.resumed === true && previous === f.session;
    const reason = f.reason ?? (f.resumed === undefined ? "unsupported" : f.resumed ? "session_mismatch" : "unknown");
    this.sessionId = f.session;
    this.attempts = 0;
    if (!resumed) {
      this.delivery.newSession();
    }
    const welcome: Welcome = { session: f.session ?? "", heartbeatMs: f.heartbeatMs };
    for (const key of ["connection", "user", "instance", "resumed", "reason"] as const) {
      if (f[key] !== undefined) {
        (welcome as unknown as Record<string, unknown>)[key] = f[key];
      }
    }
    if (f.expiresAt >= 0) {
      welcome.expiresAt = f.expiresAt;
    }
    this.lastWelcome = welcome;
    this.setState("connected");
    this.emit("welcome", welcome);
    if (previous !== undefined && !resumed) {
      this.emit("gap", { code: GapCodes.RESUME_FAILED, reason, message: "the session was not resumed: " + reason });
    }
    if (conn !== this.current) {
      return; // a listener closed the client
    }
    this.resubscribe(conn);
    this.scheduleRefresh(conn, f.expiresAt);
    for (const op of this.ops.queue()) {
      if (this.writable() !== conn) {
        break;
      }
      this.ops.dequeue(op);
      this.write(conn, op);
    }
    this.connecting?.resolve(welcome);
  }

  /**
   * A connection's subscriptions end with it (a resumed session does not restore them): after every
   * welcome, subscribe again to every topic, with `since` and `epoch` when its position is known so
   * that the server sends what was published meanwhile. A topic whose first subscribe is still queued
   * is left to it.
   */
  private resubscribe(conn: Conn): void {
    const queued = new Set<string>();
    for (const op of this.ops.queue()) {
      if (op.kind === "subscribe" && op.topic !== undefined) {
        queued.add(op.topic);
      }
    }
    const topics = this.delivery.topics;
    for (const topic of topics.list()) {
      if (topics.epoch(topic) !== undefined || !queued.has(topic)) {
        this.resubscribeTopic(conn, topic, 0);
      }
    }
  }

  private resubscribeTopic(conn: Conn, topic: string, attempt: number): void {
    const id = this.ops.nextId();
    const topics = this.delivery.topics;
    const op = new Op("resubscribe", id, subscribeFrame(id, topic, topics.last(topic), topics.epoch(topic)), topic,
      undefined, false, () => {});
    op.attempt = attempt;
    op.timer = new Timer(this.o.clock, this.o.ackTimeout, () => this.onOpTimeout(op, this.o.ackTimeout));
    this.write(conn, op);
  }

  /**
   * Sends a re-subscribe again after a backoff, on the same connection, if it is still the current one
   * and the topic still subscribed (a new connection re-subscribes every topic anyway).
   */
  private retryResubscribe(op: Op): void {
    const conn = op.conn;
    const delay = this.backoff.delayMs(op.attempt, this.o.random);
    const timer: Timer = new Timer(this.o.clock, delay, () => {
      this.retryTimers.delete(timer);
      if (conn !== undefined && conn === this.current && !conn.closingByUs && this.currentState === "connected"
        && op.topic !== undefined && this.delivery.topics.has(op.topic)) {
        this.resubscribeTopic(conn, op.topic, Math.min(op.attempt + 1, 62));
      }
    });
    this.retryTimers.add(timer);
  }

  private onMessage(conn: Conn, f: ServerFrame): void {
    if (!conn.welcomed || conn.discarding || !f.hasData) {
      return;
    }
    if (!this.delivery.message(f)) {
      // Messages are missing: deliver nothing more of this connection; the reconnect recovers them.
      conn.discarding = true;
      this.closeByUs(conn, false);
    }
  }

  private onAck(f: ServerFrame): void {
    const op = this.ops.answered(f.id);
    this.delivery.ack(f);
    if (op === undefined) {
      return;
    }
    const conn = op.conn;
    op.succeed();
    if (op.kind === "refresh" && conn === this.current && conn !== undefined) {
      const exp = jwtExpiresAt(op.token as string);
      if (exp > 0) {
        this.scheduleRefresh(conn, exp);
      }
      // An opaque token's expiry is unknown: the server closes with 4001 and the reconnect's welcome tells it.
      this.emit("refresh", exp > 0 ? { expiresAt: exp } : {});
    }
    this.maybeLeave(conn);
  }

  private onServerError(f: ServerFrame): void {
    const code = f.code ?? "unknown";
    const message = f.message ?? "";
    const op = this.ops.answered(f.id);
    if (op === undefined) {
      if (code === "subscription_revoked" && f.topic !== undefined) {
        // The gateway dropped it: a reconnect must not subscribe again with the old grant's position.
        this.delivery.topics.remove(f.topic);
      }
      const event: ErrorEvent = { code, message };
      if (f.topic !== undefined) {
        event.topic = f.topic;
      }
      this.emitError(event);
      return;
    }
    const conn = op.conn;
    switch (op.kind) {
      case "refresh":
        op.finish();
        this.emitError({ code: ErrorCodes.REFRESH_FAILED, message: code + ": " + message });
        break;
      case "resubscribe":
        op.finish();
        if (RETRYABLE.has(code)) {
          this.retryResubscribe(op);
        } else if (op.topic !== undefined) {
          this.delivery.topics.remove(op.topic);
          this.emitError({ code: ErrorCodes.RESUBSCRIBE_FAILED, message: op.topic + ": " + code + ": " + message,
            topic: op.topic });
        }
        break;
      case "subscribe":
        if (op.topic !== undefined) {
          this.delivery.topics.remove(op.topic);
        }
        op.fail(new GatewayError(code, message));
        break;
      default:
        op.fail(new GatewayError(code, message));
    }
    this.maybeLeave(conn);
  }

  private onReconnectHint(conn: Conn, f: ServerFrame): void {
    if (!conn.welcomed || conn.hintTimer !== undefined || conn.closingByUs) {
      return;
    }
    conn.hintTimer = new Timer(this.o.clock, Math.max(0, f.delayMs), () => this.leave(conn));
  }

  /**
   * A reconnect hint's delay passed: new operations wait for the next connection, and once the acks
   * of what was written are in (or {@link LEAVE_ACK_GRACE} passed) the client closes and reconnects.
   */
  private leave(conn: Conn): void {
    if (conn !== this.current || conn.closingByUs) {
      return;
    }
    conn.leaving = true;
    if (conn.inflight <= 0) {
      this.closeByUs(conn, true);
    } else {
      conn.leaveTimer = new Timer(this.o.clock, LEAVE_ACK_GRACE, () => this.closeByUs(conn, true));
    }
  }

  private maybeLeave(conn: Conn | undefined): void {
    if (conn !== undefined && conn.leaving && !conn.closingByUs && conn.inflight <= 0 && conn === this.current) {
      this.closeByUs(conn, true);
    }
  }

  /** Starts the close handshake with 1000; the connection's end triggers the reconnect. */
  private closeByUs(conn: Conn, reconnectNow: boolean): void {
    if (conn.closingByUs) {
      return;
    }
    conn.closingByUs = true;
    conn.reconnectNow = reconnectNow;
    cancel(conn.leaveTimer);
    conn.closeGracefully();
  }

  // ---------------------------------------------------------------- token refresh

  private scheduleRefresh(conn: Conn, expiresAt: number): void {
    cancel(this.refreshTimer);
    this.refreshTimer = undefined;
    if (typeof this.tokenSource === "string" || expiresAt <= 0) {
      return;
    }
    const remaining = expiresAt - this.o.clock.now();
    const delay = Math.max(0, Math.floor(remaining * (1 - this.o.refreshAhead)));
    this.refreshTimer = new Timer(this.o.clock, delay, () => this.refresh(conn));
  }

  private refresh(conn: Conn): void {
    this.refreshTimer = undefined;
    const source = this.tokenSource;
    if (conn !== this.current || this.currentState !== "connected" || typeof source === "string") {
      return;
    }
    let token: Promise<string>;
    try {
      token = Promise.resolve(source());
    } catch (e) {
      this.emitError({ code: ErrorCodes.REFRESH_FAILED, message: "token provider failed: " + errorText(e) });
      return;
    }
    token.then((t) => {
      if (conn !== this.current || conn.closingByUs) {
        return;
      }
      if (typeof t !== "string" || t.length === 0) {
        this.emitError({ code: ErrorCodes.REFRESH_FAILED, message: "token provider returned " + typeof t });
        return;
      }
      const id = this.ops.nextId();
      const op = new Op("refresh", id, operationFrame("refresh", id, "token", t), undefined, t, false, () => {});
      op.timer = new Timer(this.o.clock, this.o.ackTimeout, () => this.onOpTimeout(op, this.o.ackTimeout));
      this.write(conn, op);
    }, (e) => {
      if (conn === this.current) {
        this.emitError({ code: ErrorCodes.REFRESH_FAILED, message: "token provider failed: " + errorText(e) });
      }
    });
  }

  // ---------------------------------------------------------------- events

  private setState(to: ClientState): void {
    const from = this.currentState;
    if (from !== to) {
      this.currentState = to;
      this.emit("state", { from, to });
    }
  }

  private emitError(event: ErrorEvent): void {
    this.emit("error", event);
  }

  private rejectConnect(error: GatewayError): void {
    const c = this.connecting;
    this.connecting = undefined;
    c?.reject(error);
  }
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: GatewayError) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function withClose(event: ErrorEvent, conn: Conn): ErrorEvent {
  if (conn.ws !== undefined) {
    event.closeCode = conn.closeCode;
    event.closeReason = conn.closeReason;
  }
  return event;
}

function describeClose(conn: Conn): string {
  if (conn.closeCode === CloseCodes.ABNORMAL) {
    return "connection dropped (1006)" + (conn.failure === undefined ? "" : ": " + conn.failure);
  }
  return "closed by the server: " + conn.closeCode + (conn.closeReason === "" ? "" : " " + conn.closeReason);
}

function describeFailure(conn: Conn): string {
  if (conn.rejectStatus !== 0) {
    return "handshake refused with HTTP " + conn.rejectStatus + (conn.rejectBody ? ": " + conn.rejectBody : "");
  }
  if (conn.failure !== undefined) {
    return conn.failure;
  }
  return "closed before the welcome (" + conn.closeCode + (conn.closeReason === "" ? "" : " " + conn.closeReason) + ")";
}

/** The `error` of a refused handshake's JSON body, else `http_<status>`. */
function rejectCode(conn: Conn): string {
  try {
    const body: unknown = JSON.parse(conn.rejectBody ?? "");
    const error = (body as { error?: unknown } | null)?.error;
    if (typeof error === "string" && error.length > 0) {
      return error;
    }
  } catch {
    // Not JSON: fall back to the status.
  }
  return "http_" + conn.rejectStatus;
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}
