/** Public types of the client's events and arguments. */

/**
 * Where the client is:
 * - `disconnected`: not connected and not trying: before `connect()`, after a first connection the
 *   server refused, or after a 4001 with a token that cannot be renewed (call `connect()` again);
 * - `connecting`: the first attempt of a `connect()` is under way;
 * - `connected`: the welcome arrived; operations are written at once;
 * - `reconnecting`: the connection was lost or left on a hint; the client resumes it on its own;
 * - `closed`: `close()` was called; final.
 */
export type ClientState = "disconnected" | "connecting" | "connected" | "reconnecting" | "closed";

/** A message for the application, handed over exactly once and in order. */
export interface Message {
  /** Any JSON value, as the sender sent it. */
  data: unknown;
  /** The sending user; absent when the host or a backend sent it. */
  from?: string;
  /** The topic, for topic messages. */
  topic?: string;
  /** Direct messages: the message's number in the session. */
  seq?: number;
  /** Topic messages of a gateway with topic history: the publication's number in the topic. */
  offset?: number;
}

/** The `welcome` frame of a connection. */
export interface Welcome {
  session: string;
  connection?: string;
  user?: string;
  instance?: string;
  /** The server's ping interval, ms (-1 if absent). */
  heartbeatMs: number;
  /** When the credential expires, epoch ms; absent if it never does. */
  expiresAt?: number;
  /** Present when the handshake asked to resume: whether it did. */
  resumed?: boolean;
  /** Why a resume failed. */
  reason?: string;
}

/**
 * Something could not be recovered; resync what it names from your backend. Delivery goes on after it.
 * `code` is one of `GapCodes`: `resume_failed` (reason: `unknown_session`, `trimmed`,
 * `history_lost`, `recovery_disabled`, ...), `gap` (direct messages before seq `next` are lost) or
 * `topic_gap` (publications of `topic` before offset `next` are lost: `trimmed`, `epoch_changed`,
 * `store_unavailable`, `history_reset`).
 */
export interface GapEvent {
  code: string;
  reason: string;
  topic?: string;
  /** The number delivery continues at (seq or offset), when known. */
  next?: number;
  message: string;
}

/**
 * A problem the application may want to know of that is not an operation's failure: a lost
 * connection (with the close code: 1008 is a policy close such as `slow consumer` or `idle timeout`),
 * a failed attempt, a failed refresh or re-subscribe, or a server error with no operation to fail
 * (e.g. `subscription_revoked`, `rate_limited`).
 */
export interface ErrorEvent {
  code: string;
  message: string;
  /** The WebSocket close code, for `connection_lost`, `connect_failed` and `token_expired`. */
  closeCode?: number;
  closeReason?: string;
  /** The topic a server error names (`subscription_revoked`). */
  topic?: string;
}

/** A state change. */
export interface StateEvent {
  from: ClientState;
  to: ClientState;
}

/** A token refresh the server accepted. */
export interface RefreshEvent {
  /** The new token's `exp` in epoch ms, when it is a JWT with one. */
  expiresAt?: number;
}

/** The client's events and what each listener receives. */
export interface ClientEvents {
  message: Message;
  state: StateEvent;
  welcome: Welcome;
  gap: GapEvent;
  error: ErrorEvent;
  refresh: RefreshEvent;
  /** A frame of a type the client does not know (e.g. a host's own frame), parsed. */
  frame: Record<string, unknown>;
}

/** Returns a token; called before every connection attempt and before the token expires. */
export type TokenProvider = () => string | Promise<string>;

/** What to do with an operation called while the client is not connected. */
export type WhenDisconnected = "wait" | "reject";

/** Per-call options of an operation. */
export interface CallOptions {
  /** `wait` (queue it until the next welcome, within `timeout`) or `reject` at once. Default: the client's. */
  whenDisconnected?: WhenDisconnected;
  /** Milliseconds from the call to the ack. Default: the client's `ackTimeout`. */
  timeout?: number;
}

/**
 * The part of a WebSocket the client uses: the browser's, Node's global one (>= 22), or the `ws`
 * package's. The handlers' events are typed loosely (`any`) so that each implementation's own event
 * types fit; the client reads `data` of a message, `code` and `reason` of a close, `message` of an error.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /* eslint-disable @typescript-eslint/no-explicit-any */
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

/** A WebSocket constructor such as `globalThis.WebSocket` or the `ws` package's default export. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Time, injected so tests can move it. `setTimeout` is called with delays of at most 2^31-1 ms.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
