/**
 * The client's own error codes. A promise of an operation rejects with a {@link GatewayError} whose
 * `code` is one of these or a server error code from the protocol (`user_offline`,
 * `not_authorized`, `store_unavailable`, ...; see docs/protocol.md, "Error codes"). Codes are part
 * of the contract; messages are for humans.
 */
export const ErrorCodes = {
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
  RESUBSCRIBE_FAILED: "resubscribe_failed",
} as const;

/** What the `gap` event reports: what could not be recovered. Resync what it names from your backend. */
export const GapCodes = {
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
  TOPIC_GAP: "topic_gap",
} as const;

/** Why an operation failed: a server error code or one of {@link ErrorCodes}. */
export class GatewayError extends Error {
  /** The error code: a server code (docs/protocol.md) or one of {@link ErrorCodes}. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(code + ": " + message);
    this.name = "GatewayError";
    this.code = code;
  }
}
