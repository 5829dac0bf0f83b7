// The client's state machine against a fake socket and a fake clock: what it writes, when it
// reconnects, what it hands to the application.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { ErrorCodes, GapCodes, GatewayClient } from "../../dist/index.js";
import { FakeClock, FakeWebSocket, flush } from "./fakes.mjs";

let clock;

beforeEach(() => {
  FakeWebSocket.reset();
  clock = new FakeClock();
});

function jwt(expSeconds) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return b64({ alg: "HS256" }) + "." + b64({ sub: "alice", exp: expSeconds }) + ".sig";
}

function newClient(options = {}) {
  let tokens = 0;
  const c = new GatewayClient({
    url: "ws://gw.test/ws",
    token: () => "t" + ++tokens,
    WebSocket: FakeWebSocket,
    clock,
    random: () => 0.5,
    ...options,
  });
  const r = { messages: [], gaps: [], errors: [], states: [] };
  c.on("message", (m) => r.messages.push(m));
  c.on("gap", (g) => r.gaps.push(g));
  c.on("error", (e) => r.errors.push(e));
  c.on("state", (s) => r.states.push(s.to));
  return { c, r };
}

/** Connects and welcomes; returns the socket. */
async function connected(c, welcome = {}) {
  const p = c.connect();
  await flush();
  const ws = FakeWebSocket.last();
  ws.welcome(welcome);
  await p;
  return ws;
}

describe("options", () => {
  test("are checked at construction, naming the option, the value and what was expected", () => {
    const base = { url: "ws://x/ws", token: "t", WebSocket: FakeWebSocket };
    assert.throws(() => new GatewayClient({ ...base, ackTimeout: 0 }), { message: "ackTimeout: 0 (expected: > 0)" });
    assert.throws(() => new GatewayClient({ ...base, url: "http://x" }),
      { message: "url: http://x (expected: a ws:// or wss:// URL)" });
    assert.throws(() => new GatewayClient({ ...base, token: "" }), /token: empty/);
    assert.throws(() => new GatewayClient({ ...base, refreshAhead: 1 }), /refreshAhead: 1 \(expected: > 0 and < 1\)/);
    assert.throws(() => new GatewayClient({ ...base, whenDisconnected: "later" }), /whenDisconnected: later/);
    assert.throws(() => new GatewayClient({ ...base, reconnectBackoffMin: 500, reconnectBackoffMax: 100 }),
      /reconnectBackoffMax: 100 \(expected: >= reconnectBackoffMin 500\)/);
    assert.throws(() => new GatewayClient({ url: "ws://x/ws", token: "t" }), /WebSocket: undefined and there is no global/);
  });
});

describe("connecting and resuming", () => {
  test("the first attempt carries the token; every later one the session and last seq", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    assert.equal(ws.url.searchParams.get("access_token"), "t1");
    assert.equal(ws.url.searchParams.get("session"), null);
    ws.receive({ type: "message", from: "bob", data: 1, seq: 1 });
    ws.receive({ type: "message", from: "bob", data: 2, seq: 2 });
    ws.drop();
    assert.equal(c.state, "reconnecting");
    assert.equal(r.errors[0].code, ErrorCodes.CONNECTION_LOST);
    assert.equal(r.errors[0].closeCode, 1006);
    await clock.advance(50); // backoff: random 0.5 of [0, 100]
    const again = FakeWebSocket.last();
    assert.notEqual(again, ws);
    assert.deepEqual(Object.fromEntries(again.url.searchParams), { access_token: "t2", session: "s1", last_seq: "2" });
  });

  test("a resumed session keeps numbering; a new one is reported and numbered from 1", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    ws.receive({ type: "message", data: "a", seq: 1 });
    ws.drop();
    await clock.advance(50);
    FakeWebSocket.last().welcome({ resumed: true });
    FakeWebSocket.last().receive({ type: "message", data: "a", seq: 1 }); // a replay overlapping what was seen
    FakeWebSocket.last().receive({ type: "message", data: "b", seq: 2 });
    assert.deepEqual(r.messages.map((m) => m.data), ["a", "b"]);
    assert.deepEqual(r.gaps, []);
    FakeWebSocket.last().drop();
    await clock.advance(50);
    FakeWebSocket.last().welcome({ session: "s2", resumed: false, reason: "unknown_session" });
    assert.deepEqual(r.gaps.map((g) => [g.code, g.reason]), [[GapCodes.RESUME_FAILED, "unknown_session"]]);
    assert.equal(c.session, "s2");
    FakeWebSocket.last().receive({ type: "message", data: "c", seq: 1 });
    assert.deepEqual(r.messages.map((m) => m.data), ["a", "b", "c"]);
  });

  test("a seq gap: nothing more of the connection is delivered; it closes with 1000 and resumes after the last seq", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    ws.receive({ type: "message", data: 1, seq: 1 });
    ws.receive({ type: "message", data: 3, seq: 3 });
    ws.receive({ type: "message", data: 4, seq: 4 });
    assert.deepEqual(r.messages.map((m) => m.seq), [1]);
    assert.deepEqual(ws.closeCalls, [1000]);
    ws.serverClose(1000); // the echo
    assert.deepEqual(r.errors, [], "leaving on our own is no error");
    await clock.advance(50);
    assert.equal(FakeWebSocket.last().url.searchParams.get("last_seq"), "1");
  });

  test("failed attempts back off exponentially with full jitter, and the count resets at a welcome", async () => {
    const { c, r } = newClient();
    c.connect();
    await flush();
    const waits = [];
    for (let i = 0; i < 4; i++) {
      FakeWebSocket.last().drop();
      waits.push(clock.pending()[0]);
      await clock.advance(waits[i]);
    }
    assert.deepEqual(waits, [50, 100, 200, 400], "random 0.5 of 100, 200, 400, 800");
    assert.deepEqual(r.errors.map((e) => e.code), Array(4).fill(ErrorCodes.CONNECT_FAILED));
    FakeWebSocket.last().welcome();
    FakeWebSocket.last().drop();
    assert.equal(clock.pending()[0], 50);
  });

  test("1013 (recovery store unavailable) and 1008 (policy) are reported with their code and reason, then resumed", async () => {
    const { c, r } = newClient();
    await connected(c);
    FakeWebSocket.last().serverClose(1008, "slow consumer");
    assert.deepEqual([r.errors[0].code, r.errors[0].closeCode, r.errors[0].closeReason],
      [ErrorCodes.CONNECTION_LOST, 1008, "slow consumer"]);
    await clock.advance(50);
    FakeWebSocket.last().welcome({ resumed: true });
    FakeWebSocket.last().serverClose(1013, "recovery store unavailable");
    assert.equal(r.errors[1].closeCode, 1013);
    assert.equal(c.state, "reconnecting");
    await clock.advance(50);
    assert.equal(FakeWebSocket.sockets.length, 3);
  });

  test("no welcome within connectTimeout: the attempt is given up and retried", async () => {
    const { c, r } = newClient({ connectTimeout: 1000 });
    c.connect();
    await flush();
    await clock.advance(1000);
    assert.equal(r.errors[0].code, ErrorCodes.CONNECT_FAILED);
    assert.match(r.errors[0].message, /no welcome within 1000 ms/);
    assert.ok(FakeWebSocket.sockets[0].closeCalls.length > 0);
  });
});

describe("tokens", () => {
  test("4001 with a token provider: reconnect with a fresh token", async () => {
    const { c } = newClient();
    await connected(c);
    FakeWebSocket.last().serverClose(4001, "token expired");
    await clock.advance(50);
    assert.equal(FakeWebSocket.last().url.searchParams.get("access_token"), "t2");
  });

  test("4001 with a string token: no retry; queued operations fail; setToken() and connect() resume", async () => {
    const { c, r } = newClient({ token: "static" });
    await connected(c);
    FakeWebSocket.last().serverClose(4001, "token expired");
    assert.equal(c.state, "disconnected");
    assert.deepEqual([r.errors[0].code, r.errors[0].closeCode], [ErrorCodes.TOKEN_EXPIRED, 4001]);
    await clock.advance(60_000);
    assert.equal(FakeWebSocket.sockets.length, 1, "no attempt");
    c.setToken("renewed");
    const p = c.connect();
    await flush();
    assert.equal(FakeWebSocket.last().url.searchParams.get("access_token"), "renewed");
    assert.equal(FakeWebSocket.last().url.searchParams.get("session"), "s1");
    FakeWebSocket.last().welcome({ resumed: true });
    await p;
  });

  test("a string JWT that has expired is not even tried", async () => {
    const { c } = newClient({ token: jwt(Math.floor(clock.now() / 1000) - 1) });
    await assert.rejects(c.connect(), (e) => e.code === ErrorCodes.TOKEN_EXPIRED);
    assert.equal(FakeWebSocket.sockets.length, 0);
    assert.equal(c.state, "disconnected");
  });

  test("refresh: at 80% of the remaining lifetime a fresh token is sent; its ack schedules the next from its exp", async () => {
    let calls = 0;
    const exp = (s) => Math.floor(clock.now() / 1000) + s;
    const { c } = newClient({ token: () => (++calls === 1 ? "first" : jwt(exp(100))) });
    const refreshes = [];
    c.on("refresh", (e) => refreshes.push(e));
    const ws = await connected(c, { expires_at: clock.now() + 10_000 });
    await clock.advance(7_999);
    assert.equal(ws.sentOf("refresh").length, 0);
    await clock.advance(1);
    const refresh = ws.sentOf("refresh");
    assert.equal(refresh.length, 1);
    const expected = jwtExp(refresh[0].token);
    ws.ackAll();
    assert.deepEqual(refreshes, [{ expiresAt: expected }]);
    assert.equal(clock.pending()[0], Math.floor((expected - clock.now()) * 0.8));
  });

  test("a refresh the server refuses is reported, and the connection stays", async () => {
    const { c, r } = newClient();
    const ws = await connected(c, { expires_at: clock.now() + 1000 });
    await clock.advance(800);
    const id = ws.sentOf("refresh")[0].id;
    ws.receive({ type: "error", id, code: "invalid_token", message: "names another user" });
    assert.deepEqual(r.errors.map((e) => e.code), [ErrorCodes.REFRESH_FAILED]);
    assert.equal(c.state, "connected");
  });
});

function jwtExp(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url")).exp * 1000;
}

describe("operations", () => {
  test("acks resolve, errors reject with the server's code, a dropped connection rejects with connection_lost", async () => {
    const { c } = newClient();
    const ws = await connected(c);
    const ok = c.send("bob", { a: 1 });
    const refused = c.publish("room", 2);
    const lost = c.send("bob", 3);
    const [s1, p2] = ws.sent;
    assert.deepEqual(s1, { type: "send", id: s1.id, to: "bob", data: { a: 1 } });
    ws.receive({ type: "ack", id: s1.id });
    ws.receive({ type: "error", id: p2.id, code: "not_authorized", message: "no" });
    ws.drop();
    await ok;
    await assert.rejects(refused, (e) => e.code === "not_authorized" && e.message === "not_authorized: no");
    await assert.rejects(lost, (e) => e.code === ErrorCodes.CONNECTION_LOST);
  });

  test("while disconnected: 'wait' queues until the next welcome (in call order), 'reject' fails at once", async () => {
    const { c } = newClient();
    const ws = await connected(c);
    ws.drop();
    await assert.rejects(c.send("bob", 1, { whenDisconnected: "reject" }), (e) => e.code === ErrorCodes.NOT_CONNECTED);
    const a = c.send("bob", "a");
    const b = c.publish("room", "b");
    await clock.advance(50);
    const next = FakeWebSocket.last();
    next.welcome({ resumed: true });
    assert.deepEqual(next.sent.map((f) => f.data), ["a", "b"]);
    next.ackAll();
    await Promise.all([a, b]);
  });

  test("a queued operation that finds no connection within its timeout rejects with ack_timeout", async () => {
    const { c } = newClient({ ackTimeout: 3000 });
    const ws = await connected(c);
    ws.drop();
    const p = assert.rejects(c.send("bob", 1), (e) => e.code === ErrorCodes.ACK_TIMEOUT);
    const q = assert.rejects(c.send("bob", 2, { timeout: 500 }),
      (e) => e.code === ErrorCodes.ACK_TIMEOUT && /within 500 ms/.test(e.message));
    await clock.advance(500);
    await q;
    await clock.advance(2500);
    await p;
  });

  test("pending operations are bounded: beyond maxPendingSends calls reject at once with client_overloaded", async () => {
    const { c } = newClient({ maxPendingSends: 2 });
    const ws = await connected(c);
    const a = c.send("bob", 1);
    c.send("bob", 2);
    await assert.rejects(c.send("bob", 3), (e) => e.code === ErrorCodes.CLIENT_OVERLOADED);
    ws.receive({ type: "ack", id: ws.sent[0].id });
    await a;
    const d = c.send("bob", 4);
    assert.equal(ws.sent.length, 3, "room again after an ack");
    ws.ackAll();
    await d;
  });

  test("bad arguments reject with invalid_frame, frames over maxMessageSize with frame_too_large", async () => {
    const { c } = newClient({ maxMessageSize: 100 });
    await connected(c);
    await assert.rejects(c.send("", 1), (e) => e.code === ErrorCodes.INVALID_FRAME && /to: "" \(expected/.test(e.message));
    await assert.rejects(c.send("bob", undefined), (e) => e.code === ErrorCodes.INVALID_FRAME);
    await assert.rejects(c.publish("x".repeat(257), 1), (e) => e.code === ErrorCodes.INVALID_FRAME);
    await assert.rejects(c.send("bob", "é".repeat(60)), (e) => e.code === ErrorCodes.FRAME_TOO_LARGE);
    await assert.rejects(c.sendFrame("[1]"), (e) => e.code === ErrorCodes.INVALID_FRAME);
  });

  test("close() fails what is pending with client_closed, closes with 1000 and is final", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    const p = c.send("bob", 1);
    const closing = c.close();
    await assert.rejects(p, (e) => e.code === ErrorCodes.CLIENT_CLOSED);
    assert.deepEqual(ws.closeCalls, [1000]);
    ws.serverClose(1000);
    await closing;
    assert.equal(c.state, "closed");
    assert.deepEqual(r.errors, []);
    await assert.rejects(c.connect(), (e) => e.code === ErrorCodes.CLIENT_CLOSED);
    await assert.rejects(c.send("bob", 1), (e) => e.code === ErrorCodes.CLIENT_CLOSED);
  });
});

describe("topics", () => {
  test("after every reconnect each topic is subscribed again with since and epoch; offsets are delivered once", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    const sub = c.subscribe("room");
    ws.receive({ type: "ack", id: ws.sent[0].id, topic: "room", offset: 10, epoch: "e1" });
    await sub;
    ws.receive({ type: "message", topic: "room", data: "a", offset: 11 });
    ws.receive({ type: "message", topic: "room", data: "b", offset: 12 });
    ws.drop();
    await clock.advance(50);
    const next = FakeWebSocket.last();
    next.welcome({ resumed: true });
    const [resub] = next.sentOf("subscribe");
    assert.deepEqual(resub, { type: "subscribe", id: resub.id, topic: "room", since: 12, epoch: "e1" });
    next.receive({ type: "ack", id: resub.id, topic: "room", offset: 12, epoch: "e1", recovered: true });
    next.receive({ type: "message", topic: "room", data: "b", offset: 12 });
    next.receive({ type: "message", topic: "room", data: "c", offset: 13 });
    assert.deepEqual(r.messages.map((m) => [m.data, m.offset]), [["a", 11], ["b", 12], ["c", 13]]);
    assert.deepEqual(r.gaps, []);
  });

  test("recovered:false and topic gap frames are reported as topic_gap, and delivery continues after them", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    c.subscribe("room");
    ws.receive({ type: "ack", id: ws.sent[0].id, topic: "room", offset: 1, epoch: "e1" });
    ws.drop();
    await clock.advance(50);
    const next = FakeWebSocket.last();
    next.welcome({ resumed: true });
    const id = next.sentOf("subscribe")[0].id;
    next.receive({ type: "ack", id, topic: "room", offset: 40, epoch: "e1", recovered: false, reason: "trimmed" });
    next.receive({ type: "message", topic: "room", data: "x", offset: 41 });
    next.receive({ type: "gap", topic: "room", reason: "history_reset", epoch: "e2", next_offset: 1 });
    next.receive({ type: "message", topic: "room", data: "y", offset: 1 });
    assert.deepEqual(r.gaps.map((g) => [g.code, g.topic, g.reason]),
      [[GapCodes.TOPIC_GAP, "room", "trimmed"], [GapCodes.TOPIC_GAP, "room", "history_reset"]]);
    assert.deepEqual(r.messages.map((m) => m.data), ["x", "y"]);
  });

  test("a session gap frame is reported and delivery continues at next_seq", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    ws.receive({ type: "message", data: 1, seq: 1 });
    ws.receive({ type: "gap", reason: "trimmed", next_seq: 5 });
    ws.receive({ type: "message", data: 5, seq: 5 });
    assert.deepEqual(r.gaps.map((g) => [g.code, g.next]), [[GapCodes.GAP, 5]]);
    assert.deepEqual(r.messages.map((m) => m.seq), [1, 5]);
    assert.equal(c.lastSeq, 5);
  });

  test("a re-subscribe failing with store_unavailable is retried with backoff; not_authorized drops the topic", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    c.subscribe("a");
    c.subscribe("b");
    ws.ackAll((f) => ({ topic: f.topic, offset: 0, epoch: "e" }));
    ws.drop();
    await clock.advance(50);
    const next = FakeWebSocket.last();
    next.welcome({ resumed: true });
    const [a, b] = next.sentOf("subscribe");
    next.receive({ type: "error", id: a.id, code: "store_unavailable", message: "later" });
    next.receive({ type: "error", id: b.id, code: "not_authorized", message: "no" });
    assert.deepEqual(r.errors.map((e) => [e.code, e.topic]), [[ErrorCodes.CONNECTION_LOST, undefined],
      [ErrorCodes.RESUBSCRIBE_FAILED, "b"]]);
    assert.deepEqual(c.subscriptions, ["a"]);
    await clock.advance(50);
    assert.deepEqual(next.sentOf("subscribe").map((f) => f.topic), ["a", "b", "a"]);
  });

  test("subscription_revoked drops the topic, so a reconnect does not subscribe again", async () => {
    const { c } = newClient();
    const ws = await connected(c);
    c.subscribe("a");
    ws.ackAll();
    ws.receive({ type: "error", code: "subscription_revoked", topic: "a", message: "revoked" });
    assert.deepEqual(c.subscriptions, []);
  });
});

describe("reconnect hints", () => {
  test("after delay_ms and the acks of what is in flight, the client closes with 1000 and reconnects at once", async () => {
    const { c, r } = newClient();
    const ws = await connected(c);
    const inFlight = c.send("bob", 1);
    ws.receive({ type: "reconnect", delay_ms: 300, reason: "draining" });
    await clock.advance(300);
    const queued = c.send("bob", 2);
    assert.equal(ws.sent.length, 1, "new operations wait for the next connection");
    assert.deepEqual(ws.closeCalls, [], "waiting for the ack of what is in flight");
    ws.receive({ type: "message", data: "still read", seq: 1 });
    ws.ackAll();
    await inFlight;
    assert.deepEqual(ws.closeCalls, [1000]);
    ws.serverClose(1000);
    await flush();
    assert.equal(FakeWebSocket.sockets.length, 2, "no backoff");
    const next = FakeWebSocket.last();
    assert.equal(next.url.searchParams.get("last_seq"), "1");
    next.welcome({ resumed: true });
    assert.deepEqual(next.sent.map((f) => f.data), [2]);
    next.ackAll();
    await queued;
    assert.deepEqual(r.errors, []);
  });

  test("an ack that does not come within the grace does not hold the client on a draining instance", async () => {
    const { c } = newClient();
    const ws = await connected(c);
    const p = assert.rejects(c.send("bob", 1), (e) => e.code === ErrorCodes.CONNECTION_LOST);
    ws.receive({ type: "reconnect", delay_ms: 0 });
    await clock.advance(999);
    assert.deepEqual(ws.closeCalls, []);
    await clock.advance(1);
    assert.deepEqual(ws.closeCalls, [1000]);
    await clock.advance(2000); // no echo: given up after the close handshake timeout
    await p;
    assert.equal(FakeWebSocket.sockets.length, 2);
  });
});
