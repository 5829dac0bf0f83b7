/**
 * Reads server frames and writes client frames of the gateway's default protocol
 * (docs/protocol.md). Stateless.
 */

/** A server frame; numbers it did not carry (or that are not non-negative integers) are -1. */
export interface ServerFrame {
  type: string;
  id?: string;
  code?: string;
  message?: string;
  session?: string;
  connection?: string;
  user?: string;
  instance?: string;
  heartbeatMs: number;
  resumed?: boolean;
  reason?: string;
  expiresAt: number;
  delayMs: number;
  from?: string;
  topic?: string;
  /** Whether the frame has a `data` field (its value may be `null`). */
  hasData: boolean;
  data?: unknown;
  /** A direct message's number in the session. */
  seq: number;
  /** A topic message's number in its topic's history, or a subscribe ack's position. */
  offset: number;
  /** The topic history's epoch (subscribe ack, topic gap), a string as the server wrote it. */
  epoch?: string;
  /** Whether a subscribe with `since` caught up (absent without `since`). */
  recovered?: boolean;
  /** A session gap's first seq after the loss. */
  nextSeq: number;
  /** A topic gap's first offset after the loss. */
  nextOffset: number;
  /** The whole frame as parsed. */
  raw: Record<string, unknown>;
}

/**
 * Parses one server frame.
 *
 * @throws Error if it is not a JSON object with a string `type`
 */
export function parseServerFrame(text: string): ServerFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error("not JSON: " + (e as Error).message);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("not a JSON object");
  }
  const o = value as Record<string, unknown>;
  const type = str(o.type);
  if (type === undefined) {
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
    raw: o,
  };
}

/** Checks a `to` or `topic` argument: a string of 1..256 characters, as the gateway accepts. */
export function checkName(what: string, value: unknown): string | undefined {
  if (typeof value !== "string" || value.length < 1 || value.length > 256) {
    return what + ": " + describe(value) + " (expected: a string of 1..256 characters)";
  }
  return undefined;
}

/**
 * The JSON text of `data`, or undefined if it has none (`undefined`, a function, a symbol): the
 * gateway requires `data`, and JSON.stringify would drop the field silently.
 *
 * @throws Error if it cannot be serialised (a cycle, a BigInt)
 */
export function dataJson(data: unknown): string | undefined {
  return JSON.stringify(data);
}

/** `{"type":type,"id":id,key:value[,"data":data]}`; `dataText` is already JSON. */
export function operationFrame(type: string, id: string, key: string, value: string, dataText?: string): string {
  let s = '{"type":' + JSON.stringify(type) + ',"id":' + JSON.stringify(id) + "," + JSON.stringify(key) + ":"
    + JSON.stringify(value);
  if (dataText !== undefined) {
    s += ',"data":' + dataText;
  }
  return s + "}";
}

/**
 * `{"type":"subscribe","id":id,"topic":topic[,"since":since,"epoch":epoch]}`: with `epoch`, asks the
 * server to catch up on the topic's publications after `since`.
 */
export function subscribeFrame(id: string, topic: string, since: number, epoch: string | undefined): string {
  let s = '{"type":"subscribe","id":' + JSON.stringify(id) + ',"topic":' + JSON.stringify(topic);
  if (epoch !== undefined) {
    s += ',"since":' + since + ',"epoch":' + JSON.stringify(epoch);
  }
  return s + "}";
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** A non-negative safe integer, or -1 for anything else (a negative number, a fraction, another type). */
function num(v: unknown): number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : -1;
}

function bool(v: unknown): boolean | undefined {
  return typeof v === "boolean" ? v : undefined;
}

function describe(v: unknown): string {
  if (typeof v === "string") {
    return v.length > 40 ? JSON.stringify(v.slice(0, 40)) + "... (" + v.length + " characters)" : JSON.stringify(v);
  }
  return v === null ? "null" : typeof v;
}
