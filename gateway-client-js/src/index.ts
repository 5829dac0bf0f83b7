/**
 * @wsgateway/client: a browser and Node client for the wsgateway WebSocket gateway. Start with
 * {@link GatewayClient}.
 */
export { GatewayClient, LEAVE_ACK_GRACE } from "./client.js";
export { CloseCodes, CLOSE_HANDSHAKE_TIMEOUT } from "./connection.js";
export { ErrorCodes, GapCodes, GatewayError } from "./errors.js";
export {
  DEFAULT_ACK_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_PENDING_SENDS,
  DEFAULT_RECONNECT_BACKOFF_MAX,
  DEFAULT_RECONNECT_BACKOFF_MIN,
  DEFAULT_REFRESH_AHEAD,
  DEFAULT_WHEN_DISCONNECTED,
  type ClientOptions,
} from "./options.js";
export type {
  CallOptions,
  ClientEvents,
  ClientState,
  Clock,
  ErrorEvent,
  GapEvent,
  Message,
  RefreshEvent,
  StateEvent,
  TokenProvider,
  WebSocketConstructor,
  WebSocketLike,
  Welcome,
  WhenDisconnected,
} from "./types.js";
/** Pure parts, exported for tests and for clients of other transports. */
export { Backoff } from "./backoff.js";
export { Sequencer, type Verdict } from "./sequencer.js";
export { TopicPositions } from "./topic-positions.js";
export { parseServerFrame, type ServerFrame } from "./frames.js";
export { jwtExpiresAt } from "./jwt.js";
