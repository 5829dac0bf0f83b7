import type { Clock, TokenProvider, WebSocketConstructor, WhenDisconnected } from "./types.js";

/** Default lower bound of the reconnect backoff (the base of the exponential): 100 ms. */
export const DEFAULT_RECONNECT_BACKOFF_MIN = 100;
/** Default upper bound of the reconnect backoff: 10 s. */
export const DEFAULT_RECONNECT_BACKOFF_MAX = 10_000;
/** Default time from the start of an attempt to the welcome frame (token, TCP, TLS, upgrade, welcome): 5 s. */
export const DEFAULT_CONNECT_TIMEOUT = 5_000;
/** Default time from a call to its ack or error: 10 s. */
export const DEFAULT_ACK_TIMEOUT = 10_000;
/** Default fraction of the remaining token lifetime left when the token is refreshed: 0.2 (20%). */
export const DEFAULT_REFRESH_AHEAD = 0.2;
/** Default bound of operations queued or awaiting their ack: 10,000. */
export const DEFAULT_MAX_PENDING_SENDS = 10_000;
/** Default largest outbound frame, in UTF-8 bytes: 64 KiB, the gateway's default `maxMessageSize`. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024;
/** Default for operations called while disconnected: wait for the next connection (within their timeout). */
export const DEFAULT_WHEN_DISCONNECTED: WhenDisconnected = "wait";

/** Options of a {@link GatewayClient}; only `url` and `token` are required. */
export interface ClientOptions {
  /**
   * The WebSocket URL (`ws://host:port/ws`, `wss://...`), or a function returning it, called before
   * every attempt. The client adds `access_token`, `session` and `last_seq` to its query.
   */
  url: string | (() => string);
  /**
   * The token, or a function returning it (or its promise). A function is called before every
   * connection attempt and before the token expires (the `refresh` frame); with a string, the client
   * cannot refresh, and stops at close 4001 (token expired) until `setToken()` and `connect()`.
   */
  token: string | TokenProvider;
  /**
   * The WebSocket constructor. Default: `globalThis.WebSocket` (browsers, Node >= 22). On older Node
   * pass the `ws` package's default export.
   */
  WebSocket?: WebSocketConstructor;
  /** Base of the exponential backoff, ms. Default {@link DEFAULT_RECONNECT_BACKOFF_MIN} (100). */
  reconnectBackoffMin?: number;
  /** Cap of the exponential backoff, ms. Default {@link DEFAULT_RECONNECT_BACKOFF_MAX} (10,000). */
  reconnectBackoffMax?: number;
  /** Deadline of one connection attempt until the welcome, ms. Default {@link DEFAULT_CONNECT_TIMEOUT} (5,000). */
  connectTimeout?: number;
  /** Deadline of one operation, from the call to its ack or error, ms. Default {@link DEFAULT_ACK_TIMEOUT} (10,000). */
  ackTimeout?: number;
  /** Fraction of the token's remaining lifetime at which it is refreshed. Default {@link DEFAULT_REFRESH_AHEAD} (0.2). */
  refreshAhead?: number;
  /** Bound of operations queued or awaiting their ack. Default {@link DEFAULT_MAX_PENDING_SENDS} (10,000). */
  maxPendingSends?: number;
  /** Largest outbound frame in UTF-8 bytes; larger calls reject with `frame_too_large`. Default {@link DEFAULT_MAX_MESSAGE_SIZE}. */
  maxMessageSize?: number;
  /** What operations called while disconnected do, unless the call says. Default {@link DEFAULT_WHEN_DISCONNECTED} ("wait"). */
  whenDisconnected?: WhenDisconnected;
  /** Time; for tests. Default: `Date.now` and the global timers. */
  clock?: Clock;
  /** Random numbers in [0, 1) for the backoff's jitter; for tests. Default `Math.random`. */
  random?: () => number;
}

/** The options with every default filled in and every value checked. */
export interface ResolvedOptions {
  url: () => string;
  WebSocket: WebSocketConstructor;
  reconnectBackoffMin: number;
  reconnectBackoffMax: number;
  connectTimeout: number;
  ackTimeout: number;
  refreshAhead: number;
  maxPendingSends: number;
  maxMessageSize: number;
  whenDisconnected: WhenDisconnected;
  clock: Clock;
  random: () => number;
}

/** setTimeout fires at once for delays beyond a signed 32-bit count of ms; longer waits are re-armed. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Checks and completes the options.
 *
 * @throws TypeError or RangeError naming the option, the value and what was expected
 */
export function resolveOptions(o: ClientOptions): ResolvedOptions {
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
  const WS = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof WS !== "function") {
    throw new TypeError("WebSocket: " + (o.WebSocket === undefined ? "undefined and there is no global WebSocket"
      : typeof o.WebSocket) + " (expected: a WebSocket constructor; on Node < 22 pass the ws package's default export)");
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
    random,
  };
}

/** @throws TypeError unless `url` is a ws:// or wss:// URL */
export function checkUrl(url: unknown): string {
  if (typeof url !== "string" || !/^wss?:\/\/[^/?#]+/i.test(url)) {
    throw new TypeError("url: " + String(url) + " (expected: a ws:// or wss:// URL)");
  }
  return url;
}

/** @throws TypeError unless `token` is a non-empty string or a function */
export function checkToken(token: unknown): void {
  if (typeof token === "function") {
    return;
  }
  if (typeof token !== "string" || token.length === 0) {
    throw new TypeError("token: " + (typeof token === "string" ? "empty" : typeof token)
      + " (expected: a non-empty string, or a function returning one or its promise)");
  }
}

/** @throws RangeError unless `value` is "wait" or "reject" */
export function checkWhenDisconnected(value: unknown): WhenDisconnected {
  if (value !== "wait" && value !== "reject") {
    throw new RangeError("whenDisconnected: " + String(value) + " (expected: \"wait\" or \"reject\")");
  }
  return value;
}

/** @throws RangeError unless `value` (when given) is a number > 0 */
export function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(name + ": " + String(value) + " (expected: > 0)");
  }
  return value;
}
