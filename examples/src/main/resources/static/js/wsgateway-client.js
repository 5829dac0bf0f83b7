// @wsgateway/client 0.1.0: built from gateway-client-js/src by `npm run build`; do not edit.

// src/backoff.ts
var Backoff = class {
  constructor(baseMs, maxMs) {
    this.baseMs = Math.max(1, Math.floor(baseMs));
    this.maxMs = Math.max(this.baseMs, Math.floor(maxMs));
  }
  /** The upper bound of the wait before attempt `attempt`: `min(max, base * 2^attempt)`. */
  ceilingMs(attempt) {
    return Math.min(this.maxMs, this.baseMs * Math.pow(2, Math.max(0, attempt)));
  }
  /** The wait before attempt `attempt`; `random` yields values in `[0, 1)`. */
  delayMs(attempt, random) {
    return Math.floor(random() * (this.ceilingMs(attempt) + 1));
  }
};

// src/options.ts
var DEFAULT_RECONNECT_BACKOFF_MIN = 100;
var DEFAULT_RECONNECT_BACKOFF_MAX = 1e4;
var DEFAULT_CONNECT_TIMEOUT = 5e3;
var DEFAULT_ACK_TIMEOUT = 1e4;
var DEFAULT_REFRESH_AHEAD = 0.2;
var DEFAULT_MAX_PENDING_SENDS = 1e4;
var DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024;
var DEFAULT_WHEN_DISCONNECTED = "wait";
var MAX_TIMER_DELAY = 2 ** 31 - 1;
var SYSTEM_CLOCK = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h)
};
function resolveOptions(o) {
  if (o === null || typeof o !== "object") {
    throw new TypeError("options: " + String(o) + " (expected: an object with url and token)");
  }
  const url = o.url;
  if (typeof url === "string") {
    checkUrl(url);
  } else if (typeof url !== "function") {
    throw new TypeError("url: " + typeof url + " (expected: a ws:// or wss:// URL, or a function returning one)");
  }
  checkToken(o.token);
  const WS = o.WebSocket ?? globalThis.WebSocket;
  if (typeof WS !== "function") {
    throw new TypeError("WebSocket: " + (o.WebSocket === void 0 ? "undefined and there is no global WebSocket" : typeof o.WebSocket) + " (expected: a WebSocket constructor; on Node < 22 pass the ws package's default export)");
  }
  const min = positive("reconnectBackoffMin", o.reconnectBackoffMin, DEFAULT_RECONNECT_BACKOFF_MIN);
  const max = positive("reconnectBackoffMax", o.reconnectBackoffMax, DEFAULT_RECONNECT_BACKOFF_MAX);
  if (max < min) {
    throw new RangeError("reconnectBackoffMax: " + max + " (expected: >= reconnectBackoffMin " + min + ")");
  }
  const refreshAhead = o.refreshAhead ?? DEFAULT_REFRESH_AHEAD;
  if (typeof refreshAhead !== "number" || !(refreshAhead > 0 && refreshAhead < 1)) {
    throw new RangeError("refreshAhead: " + String(refreshAhead) + " (expected: > 0 and < 1)");
  }
  const whenDisconnected = o.whenDisconnected ?? DEFAULT_WHEN_DISCONNECTED;
  checkWhenDisconnected(whenDisconnected);
  const clock = o.clock ?? SYSTEM_CLOCK;
  if (typeof clock.now !== "function" || typeof clock.setTimeout !== "function" || typeof clock.clearTimeout !== "function") {
    throw new TypeError("clock: (expected: now, setTimeout and clearTimeout functions)");
  }
  const random = o.random ?? Math.random;
  if (typeof random !== "function") {
    throw new TypeError("random: " + typeof random + " (expected: a function returning [0, 1))");
  }
  return {
    url: typeof url === "string" ? () => url : url,
    WebSocket: WS,
    reconnectBackoffMin: min,
    reconnectBackoffMax: max,
    connectTimeout: positive("connectTimeout", o.connectTimeout, DEFAULT_CONNECT_TIMEOUT),
    ackTimeout: positive("ackTimeout", o.ackTimeout, DEFAULT_ACK_TIMEOUT),
    refreshAhead,
    maxPendingSends: positive("maxPendingSends", o.maxPendingSends, DEFAULT_MAX_PENDING_SENDS),
    maxMessageSize: positive("maxMessageSize", o.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE),
    whenDisconnected,
    clock,
    random
  };
}
function checkUrl(url) {
  if (typeof url !== "string" || !/^wss?:\/\/[^/?#]+/i.test(url)) {
    throw new TypeError("url: " + String(url) + " (expected: a ws:// or wss:// URL)");
  }
  return url;
}
function checkToken(token) {
  if (typeof token === "function") {
    return;
  }
  if (typeof token !== "string" || token.length === 0) {
    throw new TypeError("token: " + (typeof token === "string" ? "empty" : typeof token) + " (expected: a non-empty string, or a function returning one or its promise)");
  }
}
function checkWhenDisconnected(value) {
  if (value !== "wait" && value !== "reject") {
    throw new RangeError("whenDisconnected: " + String(value) + ' (expected: "wait" or "reject")');
  }
  return value;
}
function positive(name, value, fallback) {
  if (value === void 0) {
    return fallback;
  }
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(name + ": " + String(value) + " (expected: > 0)");
  }
  return value;
}

// src/timers.ts
var Timer = class {
  constructor(clock, ms, fn) {
    this.clock = clock;
    this.cancelled = false;
    const due = clock.now() + Math.max(0, ms);
    const arm = (wait) => {
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
  cancel() {
    if (!this.cancelled) {
      this.cancelled = true;
      this.clock.clearTimeout(this.handle);
    }
  }
};
function cancel(...timers) {
  for (const t of timers) {
    t?.cancel();
  }
}

// src/connection.ts
var CloseCodes = {
  /** Sent by the client when it leaves (hint, gap, close()); echoed by the server. */
  NORMAL: 1e3,
  /** No close frame: the socket dropped, or (in browsers) the handshake was refused. Never on the wire. */
  ABNORMAL: 1006,
  /** Idle timeout, slow consumer, too many protocol errors (the reason says which): reported, then reconnect. */
  POLICY_VIOLATION: 1008,
  /** Recovery store unavailable: reconnect with backoff. */
  TRY_AGAIN_LATER: 1013,
  /** The token expired without a refresh: reconnect with a new token, or stop if there is none. */
  TOKEN_EXPIRED: 4001
};
var CLOSE_HANDSHAKE_TIMEOUT = 2e3;
var MAX_REJECT_BODY = 16 * 1024;
var WS_CONNECTING = 0;
var WS_OPEN = 1;
var Conn = class {
  constructor(clock, events) {
    this.clock = clock;
    this.events = events;
    this.welcomed = false;
    /** The client sent the close frame (hint, gap, close()); no error is reported for it. */
    this.closingByUs = false;
    /** Reconnect at once when this connection ends (a reconnect hint), without backoff. */
    this.reconnectNow = false;
    /** A gap was seen: further messages of this connection are not delivered. */
    this.discarding = false;
    /** A reconnect hint's delay passed: new operations wait for the next connection. */
    this.leaving = false;
    /** Application operations written on this connection and awaiting their ack. */
    this.inflight = 0;
    this.closeCode = CloseCodes.ABNORMAL;
    this.closeReason = "";
    /** The HTTP status of a refused handshake, when the WebSocket implementation tells it (Node's `ws`); else 0. */
    this.rejectStatus = 0;
    this.ended = false;
    this.endWaiters = [];
  }
  /** Whether the connection is over. */
  get isEnded() {
    return this.ended;
  }
  /** Opens the socket. */
  open(WS, url) {
    let ws;
    try {
      ws = new WS(url);
    } catch (e) {
      this.failure = "cannot open a WebSocket: " + errorText(e);
      this.end();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
    };
    ws.onmessage = (ev) => {
      if (!this.ended && typeof ev.data === "string") {
        this.events.onText(this, ev.data);
      }
    };
    ws.onerror = (ev) => {
      if (!this.ended && this.failure === void 0 && ev && typeof ev.message === "string" && ev.message) {
        this.failure = ev.message;
      }
    };
    ws.onclose = (ev) => {
      if (!this.ended) {
        this.closeCode = typeof ev.code === "number" ? ev.code : CloseCodes.ABNORMAL;
        this.closeReason = typeof ev.reason === "string" ? ev.reason : "";
        this.end();
      }
    };
    listenForRefusal(this, ws);
  }
  /** Writes a text frame; false if the socket is not open. */
  send(text) {
    const ws = this.ws;
    if (this.ended || ws === void 0 || ws.readyState !== WS_OPEN) {
      return false;
    }
    try {
      ws.send(text);
      return true;
    } catch {
      return false;
    }
  }
  /**
   * Starts the close handshake with 1000. The connection ends at the server's echo, or after
   * {@link CLOSE_HANDSHAKE_TIMEOUT} without it. Where the implementation lets it (Node's `ws`),
   * messages that arrive before the echo are still read; browsers drop them, and the resume brings
   * them again.
   */
  closeGracefully() {
    if (this.ended || this.forceTimer !== void 0) {
      return;
    }
    this.forceTimer = new Timer(this.clock, CLOSE_HANDSHAKE_TIMEOUT, () => this.abort());
    const ws = this.ws;
    if (ws === void 0 || ws.readyState !== WS_OPEN) {
      this.abort();
      return;
    }
    try {
      ws.close(CloseCodes.NORMAL);
    } catch {
      this.abort();
    }
  }
  /** Gives the connection up at once: the socket is closed (or its opening abandoned) and the connection ends. */
  abort() {
    if (this.ended) {
      return;
    }
    const ws = this.ws;
    if (ws !== void 0) {
      try {
        const terminate = ws.terminate;
        if (ws.readyState === WS_CONNECTING && typeof terminate === "function") {
          terminate.call(ws);
        } else {
          ws.close(ws.readyState === WS_OPEN ? CloseCodes.NORMAL : void 0);
        }
      } catch {
      }
    }
    this.end();
  }
  /** Resolves when the connection has ended. */
  whenEnded() {
    return this.ended ? Promise.resolve() : new Promise((resolve) => this.endWaiters.push(resolve));
  }
  end() {
    if (this.ended) {
      return;
    }
    this.ended = true;
    cancel(this.connectTimer, this.hintTimer, this.leaveTimer, this.forceTimer);
    const ws = this.ws;
    if (ws !== void 0) {
      ws.onmessage = () => {
      };
      ws.onclose = () => {
      };
      ws.onerror = () => {
      };
    }
    try {
      this.events.onEnd(this);
    } finally {
      for (const resolve of this.endWaiters.splice(0)) {
        resolve();
      }
    }
  }
};
function listenForRefusal(conn, ws) {
  const on = ws.on;
  const terminate = ws.terminate;
  if (typeof on !== "function" || typeof terminate !== "function") {
    return;
  }
  on.call(ws, "unexpected-response", (_request, response) => {
    conn.rejectStatus = typeof response.statusCode === "number" ? response.statusCode : 0;
    let body = "";
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        conn.rejectBody = body;
        terminate.call(ws);
      }
    };
    response.on("data", (chunk) => {
      if (body.length < MAX_REJECT_BODY) {
        body += String(chunk).slice(0, MAX_REJECT_BODY - body.length);
      }
    });
    response.on("end", finish);
    response.on("error", finish);
    response.on("close", finish);
  });
}
function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

// src/errors.ts
var ErrorCodes = {
  /** More than `maxPendingSends` operations were queued or awaiting their ack; the call was refused at once. */
  CLIENT_OVERLOADED: "client_overloaded",
  /** No ack or error arrived within the operation's timeout (`ackTimeout`) of the call. */
  ACK_TIMEOUT: "ack_timeout",
  /**
   * The connection the frame was written on closed before its ack: the server may or may not have
   * handled it. The client never resends it (that could apply it twice).
   */
  CONNECTION_LOST: "connection_lost",
  /** `close()` was called before the operation completed. */
  CLIENT_CLOSED: "client_closed",
  /** The call was made while not connected with `whenDisconnected: "reject"`, or the client stopped reconnecting. */
  NOT_CONNECTED: "not_connected",
  /** An argument is not what the protocol accepts (`to`/`topic` not a 1..256 character string, `data` not JSON). */
  INVALID_FRAME: "invalid_frame",
  /** The frame is larger than `maxMessageSize`; the gateway would close the connection with 1009. */
  FRAME_TOO_LARGE: "frame_too_large",
  /** Event only: a connection attempt failed (network, refused handshake, no welcome in time, token provider). */
  CONNECT_FAILED: "connect_failed",
  /** The token expired (close 4001, or a token whose `exp` is past) and the client has no way to get a new one. */
  TOKEN_EXPIRED: "token_expired",
  /** Event only: a token refresh failed; the server will close with 4001 and the client reconnects with a fresh token. */
  REFRESH_FAILED: "refresh_failed",
  /**
   * Event only: the server refused to subscribe a topic again after a reconnect (e.g. `not_authorized`);
   * the topic is dropped. Re-subscribes that fail with `store_unavailable` or `rate_limited`, or get no
   * ack in time, are retried with backoff instead, and not reported.
   */
  RESUBSCRIBE_FAILED: "resubscribe_failed"
};
var GapCodes = {
  /**
   * A reconnect got a new session instead of resuming the old one (`resumed:false`); direct messages
   * sent while the client was away may be missing. `reason` is the server's word (`unknown_session`,
   * `trimmed`, `history_lost`, `recovery_disabled`, ...).
   */
  RESUME_FAILED: "resume_failed",
  /** The gateway reported direct messages of the session lost (a `gap` frame); delivery continues at `next`. */
  GAP: "gap",
  /**
   * Publications of a subscribed topic are lost: a re-subscribe could not catch up (`recovered:false`)
   * or the gateway sent a topic `gap` frame. Delivery of the topic continues after them.
   */
  TOPIC_GAP: "topic_gap"
};
var GatewayError = class extends Error {
  constructor(code, message2) {
    super(code + ": " + message2);
    this.name = "GatewayError";
    this.code = code;
  }
};

// src/sequencer.ts
var Sequencer = class {
  constructor() {
    this.last = 0;
  }
  /**
   * Judges the message numbered `seq`, advancing {@link lastSeq} only on `"deliver"`: the next one
   * is delivered, one seen already is a duplicate (a replay overlapping what was seen), one beyond
   * the next means messages are missing before it (resume after `lastSeq` to have them replayed).
   */
  accept(seq) {
    if (seq === this.last + 1) {
      this.last = seq;
      return "deliver";
    }
    return seq <= this.last ? "duplicate" : "gap";
  }
  /** The last delivered `seq`, 0 if none: what a resume asks the server to continue after. */
  get lastSeq() {
    return this.last;
  }
  /**
   * The server said the messages before `nextSeq` not received yet are lost (a `gap` frame): the
   * stream continues at `nextSeq`. Returns whether anything was skipped.
   */
  skipTo(nextSeq) {
    if (nextSeq - 1 <= this.last) {
      return false;
    }
    this.last = nextSeq - 1;
    return true;
  }
  /** Starts a new session, numbered from 1 again. */
  reset() {
    this.last = 0;
  }
};

// src/topic-positions.ts
var TopicPositions = class {
  constructor() {
    /** In subscription order (a Map keeps insertion order), so re-subscribes go out in that order. */
    this.topics = /* @__PURE__ */ new Map();
  }
  /** The application subscribes `topic`; a topic subscribed already keeps its position. */
  add(topic) {
    if (!this.topics.has(topic)) {
      this.topics.set(topic, { last: -1, epoch: void 0 });
    }
  }
  /** The application unsubscribed (or the server refused or revoked the subscription): its position is forgotten. */
  remove(topic) {
    this.topics.delete(topic);
  }
  has(topic) {
    return this.topics.has(topic);
  }
  /** The subscribed topics, in subscription order (a copy). */
  list() {
    return [...this.topics.keys()];
  }
  /** The last offset delivered for `topic`, or -1 when unknown (or not subscribed). */
  last(topic) {
    return this.topics.get(topic)?.last ?? -1;
  }
  /** The epoch of `topic`'s position, or undefined when unknown (or not subscribed). */
  epoch(topic) {
    const p = this.topics.get(topic);
    return p === void 0 || p.last < 0 ? void 0 : p.epoch;
  }
  /**
   * Judges the publication numbered `offset` of `topic`, advancing the position only on "deliver".
   * A topic that is not subscribed (a subscription made with a raw frame, or a message in flight past
   * an unsubscribe) or whose position is not known yet has nothing to judge by: its message is
   * delivered, and a known topic takes its offset as the position.
   */
  accept(topic, offset) {
    const p = this.topics.get(topic);
    if (p === void 0) {
      return "deliver";
    }
    if (p.last < 0 || offset === p.last + 1) {
      p.last = offset;
      return "deliver";
    }
    return offset <= p.last ? "duplicate" : "gap";
  }
  /**
   * A subscribe ack with a position: the subscription delivers the publications after `offset` of
   * `epoch`. It becomes the topic's position when none is known yet, when the epoch is another, or
   * when a catch-up failed (`recovered` false: what came before `offset` is lost). Otherwise the known
   * position stays: a successful catch-up's ack repeats the `since` that was sent, and the ack of a
   * topic subscribed already reports the last offset the server wrote, which the client has seen (or
   * discarded before a reconnect, and then must ask for again).
   *
   * Returns whether the topic is subscribed (an ack of a topic unsubscribed meanwhile is ignored).
   */
  acked(topic, offset, epoch, recovered) {
    const p = this.topics.get(topic);
    if (p === void 0) {
      return false;
    }
    if (recovered === false || p.last < 0 || epoch !== p.epoch) {
      p.last = offset;
      p.epoch = epoch;
    }
    return true;
  }
  /**
   * A topic `gap` frame: the publications before `nextOffset` of `epoch` not received yet are lost,
   * and the topic continues at `nextOffset`. Returns whether anything was lost for this client: the
   * topic is subscribed, and the epoch changed or `nextOffset` is beyond the next expected offset.
   */
  skipTo(topic, epoch, nextOffset) {
    const p = this.topics.get(topic);
    if (p === void 0 || epoch === p.epoch && nextOffset - 1 <= p.last) {
      return false;
    }
    p.last = nextOffset - 1;
    p.epoch = epoch;
    return true;
  }
};

// src/delivery.ts
var Delivery = class {
  /**
   * @param deliver hands a message to the application
   * @param report tells the application of a loss
   */
  constructor(deliver, report) {
    this.deliver = deliver;
    this.report = report;
    this.sequencer = new Sequencer();
    /** The subscribed topics and their positions. */
    this.topics = new TopicPositions();
  }
  /** The last direct message's seq delivered or skipped in this session: what a resume continues after. */
  get lastSeq() {
    return this.sequencer.lastSeq;
  }
  /** The server started a new session: direct messages are numbered from 1 again. Topics keep their positions. */
  newSession() {
    this.sequencer.reset();
  }
  /**
   * A `message` frame: delivered if it is the next of its stream, dropped if seen already. Returns
   * false when messages are missing before it: nothing more of this connection may be delivered, and
   * the client must reconnect to have them sent again (resume, subscribe with `since`).
   */
  message(f) {
    if (f.seq >= 0) {
      switch (this.sequencer.accept(f.seq)) {
        case "deliver":
          this.deliver(message(f, "seq", f.seq));
          return true;
        case "duplicate":
          return true;
        case "gap":
          return false;
      }
    }
    if (f.topic !== void 0 && f.offset >= 0) {
      switch (this.topics.accept(f.topic, f.offset)) {
        case "deliver":
          this.deliver(message(f, "offset", f.offset));
          return true;
        case "duplicate":
          return true;
        case "gap":
          return false;
      }
    }
    this.deliver(message(f, void 0, 0));
    return true;
  }
  /**
   * A `gap` frame: messages the server cannot deliver any more. The stream continues after them, and
   * the application is told, unless nothing this client was waiting for is lost.
   */
  gap(f) {
    const reason = f.reason ?? "unknown";
    if (f.topic === void 0) {
      if (f.nextSeq >= 1 && this.sequencer.skipTo(f.nextSeq)) {
        this.report({
          code: GapCodes.GAP,
          reason,
          next: f.nextSeq,
          message: reason + ": direct messages before seq " + f.nextSeq + " are lost"
        });
      }
    } else if (f.epoch !== void 0 && f.nextOffset >= 1 && this.topics.skipTo(f.topic, f.epoch, f.nextOffset)) {
      this.report({
        code: GapCodes.TOPIC_GAP,
        reason,
        topic: f.topic,
        next: f.nextOffset,
        message: f.topic + ": " + reason
      });
    }
  }
  /**
   * An `ack` frame. A subscribe ack of a gateway with topic history says where the subscription
   * starts: with `recovered:true` at the `since` sent, the missed publications following; with
   * `recovered:false` they could not be recovered, and the application is told.
   */
  ack(f) {
    if (f.topic === void 0 || f.offset < 0 || f.epoch === void 0) {
      return;
    }
    if (this.topics.acked(f.topic, f.offset, f.epoch, f.recovered) && f.recovered === false) {
      const reason = f.reason ?? "unknown";
      this.report({
        code: GapCodes.TOPIC_GAP,
        reason,
        topic: f.topic,
        next: f.offset + 1,
        message: f.topic + ": " + reason
      });
    }
  }
};
function message(f, numbered, n) {
  const m = { data: f.data };
  if (f.from !== void 0) {
    m.from = f.from;
  }
  if (f.topic !== void 0) {
    m.topic = f.topic;
  }
  if (numbered === "seq") {
    m.seq = n;
  } else if (numbered === "offset") {
    m.offset = n;
  }
  return m;
}

// src/emitter.ts
var Emitter = class {
  constructor() {
    this.listeners = /* @__PURE__ */ new Map();
  }
  /** Adds `listener` for `name`; returns a function that removes it. */
  on(name, listener) {
    if (typeof listener !== "function") {
      throw new TypeError("listener: " + typeof listener + " (expected: a function)");
    }
    let set = this.listeners.get(name);
    if (set === void 0) {
      set = /* @__PURE__ */ new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
    return () => this.off(name, listener);
  }
  /** Removes `listener` for `name`. */
  off(name, listener) {
    this.listeners.get(name)?.delete(listener);
  }
  /** Adds a listener that is removed after its first call. */
  once(name, listener) {
    const off = this.on(name, (value) => {
      off();
      listener(value);
    });
    return off;
  }
  emit(name, value) {
    const set = this.listeners.get(name);
    if (set === void 0) {
      return;
    }
    for (const listener of [...set]) {
      try {
        listener(value);
      } catch (e) {
        const report = globalThis.reportError;
        if (typeof report === "function") {
          report(e);
        } else {
          console.error("wsgateway client: a " + String(name) + " listener threw", e);
        }
      }
    }
  }
};

// src/frames.ts
function parseServerFrame(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error("not JSON: " + e.message);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("not a JSON object");
  }
  const o = value;
  const type = str(o.type);
  if (type === void 0) {
    throw new Error("no string type");
  }
  return {
    type,
    id: typeof o.id === "number" && Number.isInteger(o.id) ? String(o.id) : str(o.id),
    code: str(o.code),
    message: str(o.message),
    session: str(o.session),
    connection: str(o.connection),
    user: str(o.user),
    instance: str(o.instance),
    heartbeatMs: num(o.heartbeat_ms),
    resumed: bool(o.resumed),
    reason: str(o.reason),
    expiresAt: num(o.expires_at),
    delayMs: num(o.delay_ms),
    from: str(o.from),
    topic: str(o.topic),
    hasData: Object.prototype.hasOwnProperty.call(o, "data"),
    data: o.data,
    seq: num(o.seq),
    offset: num(o.offset),
    epoch: str(o.epoch),
    recovered: bool(o.recovered),
    nextSeq: num(o.next_seq),
    nextOffset: num(o.next_offset),
    raw: o
  };
}
function checkName(what, value) {
  if (typeof value !== "string" || value.length < 1 || value.length > 256) {
    return what + ": " + describe(value) + " (expected: a string of 1..256 characters)";
  }
  return void 0;
}
function dataJson(data) {
  return JSON.stringify(data);
}
function operationFrame(type, id, key, value, dataText) {
  let s = '{"type":' + JSON.stringify(type) + ',"id":' + JSON.stringify(id) + "," + JSON.stringify(key) + ":" + JSON.stringify(value);
  if (dataText !== void 0) {
    s += ',"data":' + dataText;
  }
  return s + "}";
}
function subscribeFrame(id, topic, since, epoch) {
  let s = '{"type":"subscribe","id":' + JSON.stringify(id) + ',"topic":' + JSON.stringify(topic);
  if (epoch !== void 0) {
    s += ',"since":' + since + ',"epoch":' + JSON.stringify(epoch);
  }
  return s + "}";
}
function str(v) {
  return typeof v === "string" ? v : void 0;
}
function num(v) {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : -1;
}
function bool(v) {
  return typeof v === "boolean" ? v : void 0;
}
function describe(v) {
  if (typeof v === "string") {
    return v.length > 40 ? JSON.stringify(v.slice(0, 40)) + "... (" + v.length + " characters)" : JSON.stringify(v);
  }
  return v === null ? "null" : typeof v;
}

// src/jwt.ts
function jwtExpiresAt(token) {
  const parts = token.split(".");
  if (parts.length !== 3) {
    return -1;
  }
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(b64 + "===".slice((b64.length + 3) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    if (claims !== null && typeof claims === "object") {
      const exp = claims.exp;
      if (typeof exp === "number" && Number.isFinite(exp)) {
        return Math.floor(exp * 1e3);
      }
    }
  } catch {
  }
  return -1;
}

// src/operation.ts
var Op = class {
  constructor(kind, id, frame, topic, token, counted, onFinish) {
    this.kind = kind;
    this.id = id;
    this.frame = frame;
    this.topic = topic;
    this.token = token;
    this.counted = counted;
    this.onFinish = onFinish;
    /** How many times this re-subscribe was tried before, for its backoff. */
    this.attempt = 0;
    this.finished = false;
    if (counted) {
      this.promise = new Promise((resolve, reject) => {
        this.resolveFn = resolve;
        this.rejectFn = reject;
      });
    }
  }
  get isFinished() {
    return this.finished;
  }
  /** Ends the operation without settling a promise (the client's own operations). */
  finish() {
    if (this.finished) {
      return;
    }
    this.finished = true;
    cancel(this.timer);
    if (this.counted && this.id !== void 0 && this.conn !== void 0) {
      this.conn.inflight--;
    }
    this.onFinish(this);
  }
  succeed() {
    if (!this.finished) {
      this.finish();
      this.resolveFn?.();
    }
  }
  fail(error) {
    if (!this.finished) {
      this.finish();
      this.rejectFn?.(error);
    }
  }
};
var Operations = class {
  constructor(maxPending) {
    this.maxPending = maxPending;
    /** In call order (a Set keeps insertion order and deletes in O(1)). */
    this.queued = /* @__PURE__ */ new Set();
    this.inflight = /* @__PURE__ */ new Map();
    this.count = 0;
    this.ids = 0;
  }
  /** Application operations queued or in flight. */
  get pending() {
    return this.count;
  }
  /** A new frame id, unique within the client. */
  nextId() {
    return "c" + ++this.ids;
  }
  /** Whether another application operation may be added. */
  hasRoom() {
    return this.count < this.maxPending;
  }
  /** A new application operation, counted against the bound until it ends. */
  create(kind, id, frame, topic) {
    this.count++;
    return new Op(kind, id, frame, topic, void 0, true, () => this.count--);
  }
  enqueue(op) {
    this.queued.add(op);
  }
  /** The queued operations, in call order (a copy). */
  queue() {
    return [...this.queued];
  }
  dequeue(op) {
    this.queued.delete(op);
  }
  /** Records an operation written with an id, until its answer. */
  written(op) {
    if (op.id !== void 0) {
      this.inflight.set(op.id, op);
    }
  }
  /** The operation in flight under `id`, no longer in flight. */
  answered(id) {
    if (id === void 0) {
      return void 0;
    }
    const op = this.inflight.get(id);
    if (op !== void 0) {
      this.inflight.delete(id);
    }
    return op;
  }
  /** Forgets `op` wherever it is (its timeout passed). */
  forget(op) {
    this.queued.delete(op);
    if (op.id !== void 0 && this.inflight.get(op.id) === op) {
      this.inflight.delete(op.id);
    }
  }
  /** Fails every queued operation. */
  failQueued(error) {
    const all = [...this.queued];
    this.queued.clear();
    for (const op of all) {
      op.fail(error);
    }
  }
  /** The operations in flight on `conn` (all of them without it), no longer in flight. */
  takeInflight(conn) {
    const taken = [];
    for (const [id, op] of this.inflight) {
      if (conn === void 0 || op.conn === conn) {
        this.inflight.delete(id);
        taken.push(op);
      }
    }
    return taken;
  }
};

// src/client.ts
var RETRYABLE = /* @__PURE__ */ new Set(["store_unavailable", "rate_limited"]);
var LEAVE_ACK_GRACE = 1e3;
var GatewayClient = class extends Emitter {
  /**
   * @throws TypeError or RangeError if an option is invalid (the message names it, the value and what was expected)
   */
  constructor(options) {
    super();
    this.attempts = 0;
    this.currentState = "disconnected";
    /** Re-subscribes waiting for their backoff; cancelled by close() so that nothing keeps a Node process alive. */
    this.retryTimers = /* @__PURE__ */ new Set();
    this.o = resolveOptions(options);
    this.tokenSource = options.token;
    this.backoff = new Backoff(this.o.reconnectBackoffMin, this.o.reconnectBackoffMax);
    this.ops = new Operations(this.o.maxPendingSends);
    this.delivery = new Delivery((m) => this.emit("message", m), (g) => this.emit("gap", g));
  }
  // ---------------------------------------------------------------- public API
  /** Where the client is; see {@link ClientState}. */
  get state() {
    return this.currentState;
  }
  /** The session id of the last welcome, undefined before the first. */
  get session() {
    return this.sessionId;
  }
  /** The last direct message's seq delivered (or skipped after a gap) in this session: what a resume continues after. */
  get lastSeq() {
    return this.delivery.lastSeq;
  }
  /** The last welcome, undefined before the first. */
  get welcome() {
    return this.lastWelcome;
  }
  /** The topics subscribed, in subscription order. */
  get subscriptions() {
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
  connect() {
    if (this.currentState === "closed") {
      return Promise.reject(new GatewayError(ErrorCodes.CLIENT_CLOSED, "client is closed"));
    }
    if (this.connecting === void 0) {
      this.connecting = deferred();
      if (this.currentState === "connected" && this.lastWelcome !== void 0) {
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
  send(to, data, options) {
    return this.dataOperation("send", "to", to, data, options);
  }
  /** Publishes `data` to `topic`; resolves on the ack (the topic's history kept it), rejects like {@link send}. */
  publish(topic, data, options) {
    return this.dataOperation("publish", "topic", topic, data, options);
  }
  /**
   * Subscribes to `topic`, remembered until {@link unsubscribe}: after every reconnect the client
   * subscribes again and catches up from the last offset it delivered. Resolves on the ack; a refusal
   * (`not_authorized`, `limit_exceeded`, ...) rejects and forgets the topic.
   */
  subscribe(topic, options) {
    const invalid = checkName("topic", topic);
    if (invalid !== void 0) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, invalid));
    }
    return this.call("subscribe", topic, (id) => operationFrame("subscribe", id, "topic", topic), options);
  }
  /** Unsubscribes from `topic` and forgets its position; resolves on the ack. */
  unsubscribe(topic, options) {
    const invalid = checkName("topic", topic);
    if (invalid !== void 0) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, invalid));
    }
    return this.call(
      "unsubscribe",
      topic,
      (id) => operationFrame("unsubscribe", id, "topic", topic),
      options
    );
  }
  /**
   * Sends a frame of the application's own type (an object with a string `type`, or its JSON text).
   * With an `id` it resolves on the matching ack and rejects on the matching error; without, once
   * written. Subscriptions made this way are not remembered.
   */
  sendFrame(frame, options) {
    let text;
    let parsed;
    try {
      text = typeof frame === "string" ? frame : JSON.stringify(frame);
      parsed = JSON.parse(text);
    } catch (e) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, "frame: " + errorText(e)));
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || typeof parsed.type !== "string") {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, "frame: (expected: a JSON object with a string type)"));
    }
    const rawId = parsed.id;
    const id = typeof rawId === "string" || typeof rawId === "number" && Number.isInteger(rawId) ? String(rawId) : void 0;
    return this.call("raw", void 0, () => text, options, id === void 0 ? null : id);
  }
  /**
   * Replaces the token source for the next attempts and refreshes, e.g. after the client stopped at a
   * 4001 with a string token (then call {@link connect} again: it resumes the session).
   */
  setToken(token) {
    checkToken(token);
    this.tokenSource = token;
  }
  /**
   * Closes with 1000, fails pending operations with `client_closed` and stops reconnecting; final.
   * Resolves when the socket is closed (at most about two seconds).
   */
  close() {
    if (this.closing !== void 0) {
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
    this.current = void 0;
    if (conn === void 0) {
      this.closing = Promise.resolve();
    } else {
      this.closing = conn.whenEnded();
      conn.closeGracefully();
    }
    return this.closing;
  }
  toString() {
    return "GatewayClient{state=" + this.currentState + ", session=" + this.sessionId + ", lastSeq=" + this.delivery.lastSeq + ", subscriptions=" + this.delivery.topics.list().length + ", pending=" + this.ops.pending + "}";
  }
  // ---------------------------------------------------------------- operations
  dataOperation(type, key, name, data, options) {
    const invalid = checkName(key, name);
    if (invalid !== void 0) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, invalid));
    }
    let json;
    try {
      json = dataJson(data);
    } catch (e) {
      return Promise.reject(new GatewayError(ErrorCodes.INVALID_FRAME, "data: " + errorText(e)));
    }
    if (json === void 0) {
      return Promise.reject(new GatewayError(
        ErrorCodes.INVALID_FRAME,
        "data: " + typeof data + " (expected: a JSON value; use null for none)"
      ));
    }
    return this.call(
      type,
      type === "publish" ? name : void 0,
      (id) => operationFrame(type, id, key, name, json),
      options
    );
  }
  /**
   * Checks, counts and queues or writes an application operation.
   *
   * @param fixedId for raw frames: their own id, or null for none
   */
  call(kind, topic, build, options, fixedId) {
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
      return Promise.reject(new GatewayError(
        ErrorCodes.CLIENT_OVERLOADED,
        "more than " + this.o.maxPendingSends + " operations pending"
      ));
    }
    const id = fixedId === void 0 ? this.ops.nextId() : fixedId === null ? void 0 : fixedId;
    const frame = build(id ?? "");
    if (frame.length > this.o.maxMessageSize / 3 && utf8Length(frame) > this.o.maxMessageSize) {
      return Promise.reject(new GatewayError(
        ErrorCodes.FRAME_TOO_LARGE,
        "frame of " + utf8Length(frame) + " bytes (expected: <= maxMessageSize " + this.o.maxMessageSize + ")"
      ));
    }
    const op = this.ops.create(kind, id, frame, topic);
    op.timer = new Timer(this.o.clock, timeout, () => this.onOpTimeout(op, timeout));
    if (kind === "subscribe" && topic !== void 0) {
      this.delivery.topics.add(topic);
    } else if (kind === "unsubscribe" && topic !== void 0) {
      this.delivery.topics.remove(topic);
    }
    const conn = this.writable();
    if (conn !== void 0) {
      this.write(conn, op);
    } else {
      this.ops.enqueue(op);
    }
    return op.promise;
  }
  /** The connection operations are written on now, if any. */
  writable() {
    const c = this.current;
    return this.currentState === "connected" && c !== void 0 && c.welcomed && !c.leaving && !c.closingByUs && !c.discarding ? c : void 0;
  }
  write(conn, op) {
    if (op.id !== void 0) {
      this.ops.written(op);
      op.conn = conn;
      if (op.counted) {
        conn.inflight++;
      }
    }
    const written = conn.send(op.frame);
    if (op.id === void 0) {
      if (written) {
        op.succeed();
      } else {
        op.fail(new GatewayError(ErrorCodes.CONNECTION_LOST, "the connection closed before the frame was written"));
      }
    }
  }
  onOpTimeout(op, timeout) {
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
  attempt() {
    this.reconnectTimer = void 0;
    if (this.currentState === "closed" || this.currentState === "disconnected") {
      return;
    }
    const conn = new Conn(this.o.clock, { onText: (c, t) => this.onText(c, t), onEnd: (c) => this.onEnd(c) });
    this.current = conn;
    conn.connectTimer = new Timer(this.o.clock, this.o.connectTimeout, () => this.onConnectTimeout(conn));
    let base;
    let token;
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
          this.stop(new GatewayError(ErrorCodes.TOKEN_EXPIRED, "the token expired at " + new Date(exp).toISOString() + " and is a string; setToken() then connect()"), void 0);
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
  withQuery(base, token) {
    const url = new URL(base);
    url.searchParams.set("access_token", token);
    if (this.sessionId !== void 0) {
      url.searchParams.set("session", this.sessionId);
      url.searchParams.set("last_seq", String(this.delivery.lastSeq));
    }
    return url.toString();
  }
  onConnectTimeout(conn) {
    if (conn === this.current && !conn.welcomed) {
      conn.failure = "no welcome within " + this.o.connectTimeout + " ms";
      conn.abort();
    }
  }
  /** An attempt ended before its welcome. */
  attemptFailed(conn) {
    const message2 = describeFailure(conn);
    const refused = conn.rejectStatus >= 400 && conn.rejectStatus < 500 && conn.rejectStatus !== 429;
    const code = refused ? rejectCode(conn) : void 0;
    if (refused && this.currentState === "connecting" && this.sessionId === void 0) {
      this.stop(new GatewayError(code, message2), void 0);
      return;
    }
    if (code === ErrorCodes.TOKEN_EXPIRED && typeof this.tokenSource === "string") {
      this.stop(new GatewayError(code, message2 + "; the token is a string: setToken() then connect()"), void 0);
      return;
    }
    this.emitError(withClose({ code: ErrorCodes.CONNECT_FAILED, message: message2 }, conn));
    this.setState("reconnecting");
    this.scheduleReconnect();
  }
  /** Stops trying: the client is disconnected until connect() is called again. */
  stop(error, conn) {
    const c = this.current;
    this.current = void 0;
    c?.abort();
    cancel(this.reconnectTimer, this.refreshTimer);
    this.ops.failQueued(error);
    this.setState("disconnected");
    this.rejectConnect(error);
    const event = { code: error.code, message: error.message };
    this.emitError(conn === void 0 ? event : withClose(event, conn));
  }
  scheduleReconnect() {
    const delay = this.backoff.delayMs(this.attempts, this.o.random);
    this.attempts = Math.min(this.attempts + 1, 62);
    this.reconnectTimer = new Timer(this.o.clock, delay, () => this.attempt());
  }
  /** Whatever ended a connection or attempt comes here, once. */
  onEnd(conn) {
    if (conn !== this.current) {
      return;
    }
    this.current = void 0;
    if (this.currentState === "closed" || this.currentState === "disconnected") {
      return;
    }
    if (!conn.welcomed) {
      this.attemptFailed(conn);
      return;
    }
    this.failInflight(conn);
    cancel(this.refreshTimer);
    this.refreshTimer = void 0;
    if (!conn.closingByUs) {
      if (conn.closeCode === CloseCodes.TOKEN_EXPIRED && typeof this.tokenSource === "string") {
        this.stop(new GatewayError(ErrorCodes.TOKEN_EXPIRED, "closed by the server: 4001 " + conn.closeReason + "; the token is a string: setToken() then connect()"), conn);
        return;
      }
      this.emitError(withClose({ code: ErrorCodes.CONNECTION_LOST, message: describeClose(conn) }, conn));
    }
    this.setState("reconnecting");
    if (conn.reconnectNow) {
      this.attempt();
    } else {
      this.scheduleReconnect();
    }
  }
  failInflight(conn) {
    for (const op of this.ops.takeInflight(conn)) {
      if (op.kind === "refresh" || op.kind === "resubscribe") {
        op.finish();
      } else {
        op.fail(new GatewayError(
          ErrorCodes.CONNECTION_LOST,
          "the connection closed before the ack; the server may or may not have handled it"
        ));
      }
    }
  }
  // ---------------------------------------------------------------- frames
  onText(conn, text) {
    if (conn !== this.current) {
      return;
    }
    let f;
    try {
      f = parseServerFrame(text);
    } catch {
      return;
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
          this.delivery.gap(f);
        }
        break;
      default:
        this.emit("frame", f.raw);
    }
  }
  onWelcome(conn, f) {
    if (conn.welcomed) {
      return;
    }
    conn.welcomed = true;
    cancel(conn.connectTimer);
    const previous = this.sessionId;
    const resumed = previous !== void 0 && f.resumed === true && previous === f.session;
    const reason = f.reason ?? (f.resumed === void 0 ? "unsupported" : f.resumed ? "session_mismatch" : "unknown");
    this.sessionId = f.session;
    this.attempts = 0;
    if (!resumed) {
      this.delivery.newSession();
    }
    const welcome = { session: f.session ?? "", heartbeatMs: f.heartbeatMs };
    for (const key of ["connection", "user", "instance", "resumed", "reason"]) {
      if (f[key] !== void 0) {
        welcome[key] = f[key];
      }
    }
    if (f.expiresAt >= 0) {
      welcome.expiresAt = f.expiresAt;
    }
    this.lastWelcome = welcome;
    this.setState("connected");
    this.emit("welcome", welcome);
    if (previous !== void 0 && !resumed) {
      this.emit("gap", { code: GapCodes.RESUME_FAILED, reason, message: "the session was not resumed: " + reason });
    }
    if (conn !== this.current) {
      return;
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
  resubscribe(conn) {
    const queued = /* @__PURE__ */ new Set();
    for (const op of this.ops.queue()) {
      if (op.kind === "subscribe" && op.topic !== void 0) {
        queued.add(op.topic);
      }
    }
    const topics = this.delivery.topics;
    for (const topic of topics.list()) {
      if (topics.epoch(topic) !== void 0 || !queued.has(topic)) {
        this.resubscribeTopic(conn, topic, 0);
      }
    }
  }
  resubscribeTopic(conn, topic, attempt) {
    const id = this.ops.nextId();
    const topics = this.delivery.topics;
    const op = new Op(
      "resubscribe",
      id,
      subscribeFrame(id, topic, topics.last(topic), topics.epoch(topic)),
      topic,
      void 0,
      false,
      () => {
      }
    );
    op.attempt = attempt;
    op.timer = new Timer(this.o.clock, this.o.ackTimeout, () => this.onOpTimeout(op, this.o.ackTimeout));
    this.write(conn, op);
  }
  /**
   * Sends a re-subscribe again after a backoff, on the same connection, if it is still the current one
   * and the topic still subscribed (a new connection re-subscribes every topic anyway).
   */
  retryResubscribe(op) {
    const conn = op.conn;
    const delay = this.backoff.delayMs(op.attempt, this.o.random);
    const timer = new Timer(this.o.clock, delay, () => {
      this.retryTimers.delete(timer);
      if (conn !== void 0 && conn === this.current && !conn.closingByUs && this.currentState === "connected" && op.topic !== void 0 && this.delivery.topics.has(op.topic)) {
        this.resubscribeTopic(conn, op.topic, Math.min(op.attempt + 1, 62));
      }
    });
    this.retryTimers.add(timer);
  }
  onMessage(conn, f) {
    if (!conn.welcomed || conn.discarding || !f.hasData) {
      return;
    }
    if (!this.delivery.message(f)) {
      conn.discarding = true;
      this.closeByUs(conn, false);
    }
  }
  onAck(f) {
    const op = this.ops.answered(f.id);
    this.delivery.ack(f);
    if (op === void 0) {
      return;
    }
    const conn = op.conn;
    op.succeed();
    if (op.kind === "refresh" && conn === this.current && conn !== void 0) {
      const exp = jwtExpiresAt(op.token);
      if (exp > 0) {
        this.scheduleRefresh(conn, exp);
      }
      this.emit("refresh", exp > 0 ? { expiresAt: exp } : {});
    }
    this.maybeLeave(conn);
  }
  onServerError(f) {
    const code = f.code ?? "unknown";
    const message2 = f.message ?? "";
    const op = this.ops.answered(f.id);
    if (op === void 0) {
      if (code === "subscription_revoked" && f.topic !== void 0) {
        this.delivery.topics.remove(f.topic);
      }
      const event = { code, message: message2 };
      if (f.topic !== void 0) {
        event.topic = f.topic;
      }
      this.emitError(event);
      return;
    }
    const conn = op.conn;
    switch (op.kind) {
      case "refresh":
        op.finish();
        this.emitError({ code: ErrorCodes.REFRESH_FAILED, message: code + ": " + message2 });
        break;
      case "resubscribe":
        op.finish();
        if (RETRYABLE.has(code)) {
          this.retryResubscribe(op);
        } else if (op.topic !== void 0) {
          this.delivery.topics.remove(op.topic);
          this.emitError({
            code: ErrorCodes.RESUBSCRIBE_FAILED,
            message: op.topic + ": " + code + ": " + message2,
            topic: op.topic
          });
        }
        break;
      case "subscribe":
        if (op.topic !== void 0) {
          this.delivery.topics.remove(op.topic);
        }
        op.fail(new GatewayError(code, message2));
        break;
      default:
        op.fail(new GatewayError(code, message2));
    }
    this.maybeLeave(conn);
  }
  onReconnectHint(conn, f) {
    if (!conn.welcomed || conn.hintTimer !== void 0 || conn.closingByUs) {
      return;
    }
    conn.hintTimer = new Timer(this.o.clock, Math.max(0, f.delayMs), () => this.leave(conn));
  }
  /**
   * A reconnect hint's delay passed: new operations wait for the next connection, and once the acks
   * of what was written are in (or {@link LEAVE_ACK_GRACE} passed) the client closes and reconnects.
   */
  leave(conn) {
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
  maybeLeave(conn) {
    if (conn !== void 0 && conn.leaving && !conn.closingByUs && conn.inflight <= 0 && conn === this.current) {
      this.closeByUs(conn, true);
    }
  }
  /** Starts the close handshake with 1000; the connection's end triggers the reconnect. */
  closeByUs(conn, reconnectNow) {
    if (conn.closingByUs) {
      return;
    }
    conn.closingByUs = true;
    conn.reconnectNow = reconnectNow;
    cancel(conn.leaveTimer);
    conn.closeGracefully();
  }
  // ---------------------------------------------------------------- token refresh
  scheduleRefresh(conn, expiresAt) {
    cancel(this.refreshTimer);
    this.refreshTimer = void 0;
    if (typeof this.tokenSource === "string" || expiresAt <= 0) {
      return;
    }
    const remaining = expiresAt - this.o.clock.now();
    const delay = Math.max(0, Math.floor(remaining * (1 - this.o.refreshAhead)));
    this.refreshTimer = new Timer(this.o.clock, delay, () => this.refresh(conn));
  }
  refresh(conn) {
    this.refreshTimer = void 0;
    const source = this.tokenSource;
    if (conn !== this.current || this.currentState !== "connected" || typeof source === "string") {
      return;
    }
    let token;
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
      const op = new Op("refresh", id, operationFrame("refresh", id, "token", t), void 0, t, false, () => {
      });
      op.timer = new Timer(this.o.clock, this.o.ackTimeout, () => this.onOpTimeout(op, this.o.ackTimeout));
      this.write(conn, op);
    }, (e) => {
      if (conn === this.current) {
        this.emitError({ code: ErrorCodes.REFRESH_FAILED, message: "token provider failed: " + errorText(e) });
      }
    });
  }
  // ---------------------------------------------------------------- events
  setState(to) {
    const from = this.currentState;
    if (from !== to) {
      this.currentState = to;
      this.emit("state", { from, to });
    }
  }
  emitError(event) {
    this.emit("error", event);
  }
  rejectConnect(error) {
    const c = this.connecting;
    this.connecting = void 0;
    c?.reject(error);
  }
};
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
function withClose(event, conn) {
  if (conn.ws !== void 0) {
    event.closeCode = conn.closeCode;
    event.closeReason = conn.closeReason;
  }
  return event;
}
function describeClose(conn) {
  if (conn.closeCode === CloseCodes.ABNORMAL) {
    return "connection dropped (1006)" + (conn.failure === void 0 ? "" : ": " + conn.failure);
  }
  return "closed by the server: " + conn.closeCode + (conn.closeReason === "" ? "" : " " + conn.closeReason);
}
function describeFailure(conn) {
  if (conn.rejectStatus !== 0) {
    return "handshake refused with HTTP " + conn.rejectStatus + (conn.rejectBody ? ": " + conn.rejectBody : "");
  }
  if (conn.failure !== void 0) {
    return conn.failure;
  }
  return "closed before the welcome (" + conn.closeCode + (conn.closeReason === "" ? "" : " " + conn.closeReason) + ")";
}
function rejectCode(conn) {
  try {
    const body = JSON.parse(conn.rejectBody ?? "");
    const error = body?.error;
    if (typeof error === "string" && error.length > 0) {
      return error;
    }
  } catch {
  }
  return "http_" + conn.rejectStatus;
}
function utf8Length(s) {
  return new TextEncoder().encode(s).length;
}
export {
  Backoff,
  CLOSE_HANDSHAKE_TIMEOUT,
  CloseCodes,
  DEFAULT_ACK_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_PENDING_SENDS,
  DEFAULT_RECONNECT_BACKOFF_MAX,
  DEFAULT_RECONNECT_BACKOFF_MIN,
  DEFAULT_REFRESH_AHEAD,
  DEFAULT_WHEN_DISCONNECTED,
  ErrorCodes,
  GapCodes,
  GatewayClient,
  GatewayError,
  LEAVE_ACK_GRACE,
  Sequencer,
  TopicPositions,
  jwtExpiresAt,
  parseServerFrame
};
