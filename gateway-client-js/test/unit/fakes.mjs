// Fakes for unit tests of the client's state machine: a clock the test moves, and a WebSocket whose
// server side the test plays. Pure logic only; the integration and browser tests use real sockets.

/** A clock whose timers fire only when the test advances it. */
export class FakeClock {
  constructor(start = 1_000_000) {
    this.t = start;
    this.timers = new Map();
    this.seq = 0;
  }
  now() {
    return this.t;
  }
  setTimeout(fn, ms) {
    const id = ++this.seq;
    this.timers.set(id, { due: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(id) {
    this.timers.delete(id);
  }
  /** The delays (from now) of the pending timers, sorted. */
  pending() {
    return [...this.timers.values()].map((t) => t.due - this.t).sort((a, b) => a - b);
  }
  /** Moves time forward by `ms`, firing every timer that falls due, in order, microtasks flushed between. */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.timers.values()].filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (next === undefined) {
        break;
      }
      this.timers.delete(next.id);
      this.t = Math.max(this.t, next.due);
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** Lets pending promise callbacks run. */
export function flush() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A WebSocket whose server side the test plays. `FakeWebSocket.sockets` lists every one created. */
export class FakeWebSocket {
  static sockets = [];

  constructor(url) {
    this.url = new URL(url);
    this.readyState = 0;
    this.sent = [];
    this.closeCalls = [];
    this.onopen = null;
    this.onmessage = null;
    this.onerror = null;
    this.onclose = null;
    FakeWebSocket.sockets.push(this);
  }

  static reset() {
    FakeWebSocket.sockets = [];
  }

  static last() {
    return FakeWebSocket.sockets[FakeWebSocket.sockets.length - 1];
  }

  // ---- the client's side
  send(text) {
    if (this.readyState !== 1) {
      throw new Error("not open");
    }
    this.sent.push(JSON.parse(text));
  }
  close(code) {
    this.closeCalls.push(code);
    if (this.readyState <= 1) {
      this.readyState = 2;
    }
  }

  // ---- the server's side, played by the test
  /** Opens the socket and sends the welcome. */
  welcome(fields = {}) {
    this.readyState = 1;
    this.onopen?.({});
    this.receive({ type: "welcome", session: "s1", connection: "c" + FakeWebSocket.sockets.length, user: "alice",
      instance: "gw-1", heartbeat_ms: 25000, ...fields });
  }
  receive(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  /** The server closes (or, after the client's close(), echoes). */
  serverClose(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  /** The socket drops without a close frame, or a browser's refused handshake. */
  drop() {
    this.onerror?.({});
    this.serverClose(1006);
  }
  /** The frames sent of `type`. */
  sentOf(type) {
    return this.sent.filter((f) => f.type === type);
  }
  /** Acks every frame with an id sent so far that has not been answered. */
  ackAll(extra = () => ({})) {
    this.answered ??= new Set();
    for (const f of this.sent) {
      if (f.id !== undefined && !this.answered.has(f.id)) {
        this.answered.add(f.id);
        this.receive({ type: "ack", id: f.id, ...extra(f) });
      }
    }
  }
}
