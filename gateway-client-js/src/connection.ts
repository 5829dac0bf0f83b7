import { cancel, Timer } from "./timers.js";
import type { Clock, WebSocketConstructor, WebSocketLike } from "./types.js";

/** The WebSocket close codes the client acts on, with the protocol's meaning (docs/protocol.md, "Close codes"). */
export const CloseCodes = {
  /** Sent by the client when it leaves (hint, gap, close()); echoed by the server. */
  NORMAL: 1000,
  /** No close frame: the socket dropped, or (in browsers) the handshake was refused. Never on the wire. */
  ABNORMAL: 1006,
  /** Idle timeout, slow consumer, too many protocol errors (the reason says which): reported, then reconnect. */
  POLICY_VIOLATION: 1008,
  /** Recovery store unavailable: reconnect with backoff. */
  TRY_AGAIN_LATER: 1013,
  /** The token expired without a refresh: reconnect with a new token, or stop if there is none. */
  TOKEN_EXPIRED: 4001,
} as const;

/** How long to wait for the server's close echo before giving the socket up. */
export const CLOSE_HANDSHAKE_TIMEOUT = 2_000;
/** A refused handshake's JSON body is small; what is beyond this is not read. */
const MAX_REJECT_BODY = 16 * 1024;
const WS_CONNECTING = 0;
const WS_OPEN = 1;

/** What a connection tells its client. */
export interface ConnEvents {
  onText(conn: Conn, text: string): void;
  /** Called exactly once per connection, when it is over, whatever ended it. */
  onEnd(conn: Conn): void;
}

/**
 * One connection attempt and, if it got its welcome, the connection: its socket, its timers and what
 * is known of how it ended. Its events stop when it ends, so a late event of a socket the client has
 * given up cannot reach the client.
 */
export class Conn {
  ws: WebSocketLike | undefined;
  welcomed = false;
  /** The client sent the close frame (hint, gap, close()); no error is reported for it. */
  closingByUs = false;
  /** Reconnect at once when this connection ends (a reconnect hint), without backoff. */
  reconnectNow = false;
  /** A gap was seen: further messages of this connection are not delivered. */
  discarding = false;
  /** A reconnect hint's delay passed: new operations wait for the next connection. */
  leaving = false;
  /** Application operations written on this connection and awaiting their ack. */
  inflight = 0;
  closeCode: number = CloseCodes.ABNORMAL;
  closeReason = "";
  failure: string | undefined;
  /** The HTTP status of a refused handshake, when the WebSocket implementation tells it (Node's `ws`); else 0. */
  rejectStatus = 0;
  rejectBody: string | undefined;
  connectTimer: Timer | undefined;
  hintTimer: Timer | undefined;
  leaveTimer: Timer | undefined;
  private forceTimer: Timer | undefined;
  private ended = false;
  private readonly endWaiters: (() => void)[] = [];

  constructor(private readonly clock: Clock, private readonly events: ConnEvents) {}

  /** Whether the connection is over. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Opens the socket. */
  open(WS: WebSocketConstructor, url: string): void {
    let ws: WebSocketLike;
    try {
      ws = new WS(url);
    } catch (e) {
      this.failure = "cannot open a WebSocket: " + errorText(e);
      this.end();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {};
    ws.onmessage = (ev) => {
      if (!this.ended && typeof ev.data === "string") {
        this.events.onText(this, ev.data);
      }
    };
    ws.onerror = (ev) => {
      if (!this.ended && this.failure === undefined && ev && typeof ev.message === "string" && ev.message) {
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
  send(text: string): boolean {
    const ws = this.ws;
    if (this.ended || ws === undefined || ws.readyState !== WS_OPEN) {
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
  closeGracefully(): void {
    if (this.ended || this.forceTimer !== undefined) {
      return;
    }
    this.forceTimer = new Timer(this.clock, CLOSE_HANDSHAKE_TIMEOUT, () => this.abort());
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== WS_OPEN) {
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
  abort(): void {
    if (this.ended) {
      return;
    }
    const ws = this.ws;
    if (ws !== undefined) {
      try {
        const terminate = (ws as { terminate?: () => void }).terminate;
        if (ws.readyState === WS_CONNECTING && typeof terminate === "function") {
          terminate.call(ws); // ws (Node): close() while connecting would throw from a timer
        } else {
          ws.close(ws.readyState === WS_OPEN ? CloseCodes.NORMAL : undefined);
        }
      } catch {
        // Closing anyway.
      }
    }
    this.end();
  }

  /** Resolves when the connection has ended. */
  whenEnded(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((resolve) => this.endWaiters.push(resolve));
  }

  private end(): void {
    if (this.ended) {
      return;
    }
    this.ended = true;
    cancel(this.connectTimer, this.hintTimer, this.leaveTimer, this.forceTimer);
    const ws = this.ws;
    if (ws !== undefined) {
      // No-ops rather than null: the ws package throws an 'error' event that has no listener.
      ws.onmessage = () => {};
      ws.onclose = () => {};
      ws.onerror = () => {};
    }
    try {
      this.events.onEnd(this);
    } finally {
      for (const resolve of this.endWaiters.splice(0)) {
        resolve();
      }
    }
  }
}

/**
 * Node's `ws` tells the status and body of a refused handshake through its 'unexpected-response'
 * event (browsers and Node's global WebSocket only report a close with 1006). With it the first
 * connect() can fail with the server's code (`token_expired`, ...) instead of retrying.
 */
function listenForRefusal(conn: Conn, ws: WebSocketLike): void {
  const on = (ws as { on?: unknown }).on;
  const terminate = (ws as { terminate?: unknown }).terminate;
  if (typeof on !== "function" || typeof terminate !== "function") {
    return;
  }
  interface Response {
    statusCode?: number;
    on(event: string, listener: (chunk?: unknown) => void): void;
    destroy?: () => void;
  }
  on.call(ws, "unexpected-response", (_request: unknown, response: Response) => {
    conn.rejectStatus = typeof response.statusCode === "number" ? response.statusCode : 0;
    let body = "";
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        conn.rejectBody = body;
        (terminate as () => void).call(ws);
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

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
