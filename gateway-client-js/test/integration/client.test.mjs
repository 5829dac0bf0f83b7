// The client in Node (with the ws package, as Node 20 has no global WebSocket) against the real
// example gateway in its own JVM, with its default in-memory recovery store.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import WebSocket from "ws";
import { ErrorCodes, GatewayClient } from "../../dist/index.js";
import { mintToken, newSecret, nextEvent, runId, startCuttablePath, startGateway, until } from "../support/gateway.mjs";

const id = runId();
const secret = newSecret();
let gateway;
const clients = [];
const paths = [];

before(async () => {
  gateway = await startGateway({ env: { GATEWAY_JWT_SECRET: secret }, logName: "integration-" + id });
});

after(async () => {
  await gateway?.stop();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(paths.splice(0).map((p) => p.close()));
});

/** A client of `user` with a token provider (fresh token per call) unless `token` is given. */
function client(user, options = {}) {
  const c = new GatewayClient({ url: gateway.url, token: () => mintToken(secret, user), WebSocket, ...options });
  clients.push(c);
  return c;
}

/** Everything a client reports, in order. */
function record(c) {
  const r = { messages: [], gaps: [], errors: [], states: [], welcomes: [] };
  c.on("message", (m) => r.messages.push(m));
  c.on("gap", (g) => r.gaps.push(g));
  c.on("error", (e) => r.errors.push(e));
  c.on("state", (s) => r.states.push(s.to));
  c.on("welcome", (w) => r.welcomes.push(w));
  return r;
}

describe("the client against the example gateway", () => {
  test("connect() resolves with the welcome; send() resolves on the ack and the recipient gets the message once", async () => {
    const alice = client("alice");
    const bob = client("bob");
    const got = record(bob);
    const welcome = await alice.connect();
    assert.equal(welcome.user, "alice");
    assert.equal(alice.state, "connected");
    assert.match(welcome.session, /^[A-Za-z0-9_-]+$/);
    await bob.connect();
    await alice.send("bob", { text: "hi bob" });
    await until("bob has the message", () => got.messages.length === 1);
    assert.deepEqual(got.messages[0], { data: { text: "hi bob" }, from: "alice", seq: 1 });
    assert.equal(bob.lastSeq, 1);
  });

  test("an operation the server refuses rejects with the server's code", async () => {
    const alice = client("alice");
    await alice.connect();
    await assert.rejects(alice.send("nobody-" + id, 1), (e) => e.code === "user_offline");
  });

  test("a first connection with a token the server refuses fails connect() with the server's code", async () => {
    const c = client("alice", { token: "not-a-jwt" });
    const r = record(c);
    await assert.rejects(c.connect(), (e) => e.code === "token_malformed" && /HTTP 401/.test(e.message));
    assert.equal(c.state, "disconnected");
    assert.deepEqual(r.states, ["connecting", "disconnected"], "no retry");
  });

  test("topics: after a network cut the client resumes, subscribes again with since, and gets what it missed once and in order", async () => {
    const path = await startCuttablePath(gateway.port);
    paths.push(path);
    const carol = client("carol", { url: path.url });
    const got = record(carol);
    const alice = client("alice");
    await Promise.all([carol.connect(), alice.connect()]);
    const topic = "room:" + id;
    await carol.subscribe(topic);
    for (let n = 1; n <= 3; n++) {
      await alice.publish(topic, { n });
    }
    await until("carol has the first 3 publications", () => got.messages.length === 3);

    path.cut();
    await until("carol noticed the cut", () => carol.state === "reconnecting");
    // While carol is away: the topic's history and carol's session keep what is acknowledged.
    for (let n = 4; n <= 8; n++) {
      await alice.publish(topic, { n });
    }
    for (let n = 1; n <= 3; n++) {
      await alice.send("carol", { d: n });
    }
    path.restore();
    await until("carol caught up", () => got.messages.length === 11, { describe: () => JSON.stringify(got) });

    const topicMessages = got.messages.filter((m) => m.topic === topic);
    assert.deepEqual(topicMessages.map((m) => m.data.n), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(topicMessages.map((m) => m.offset), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(got.messages.filter((m) => m.topic === undefined).map((m) => [m.seq, m.data.d]),
      [[1, 1], [2, 2], [3, 3]]);
    assert.equal(got.welcomes.length, 2);
    assert.equal(got.welcomes[1].resumed, true);
    assert.equal(got.welcomes[1].session, got.welcomes[0].session);
    assert.deepEqual(got.gaps, []);
    assert.ok(got.errors.some((e) => e.code === ErrorCodes.CONNECTION_LOST && e.closeCode === 1006),
      JSON.stringify(got.errors));
    assert.deepEqual(carol.subscriptions, [topic]);
  });

  test("token refresh: the provider is asked again before expiry and the connection outlives its first token", async () => {
    let calls = 0;
    const dave = client("dave", {
      token: () => {
        calls++;
        return mintToken(secret, "dave", { ttlSeconds: 3 });
      },
    });
    const got = record(dave);
    const welcome = await dave.connect();
    assert.ok(welcome.expiresAt > Date.now(), "the welcome tells the expiry");
    const first = await nextEvent(dave, "refresh", () => true, 15_000);
    assert.ok(first.expiresAt >= welcome.expiresAt);
    // The second refresh comes after the first token's expiry: the server would have closed with 4001.
    const second = await nextEvent(dave, "refresh", () => true, 15_000);
    assert.ok(Date.now() > welcome.expiresAt, "outlived the first token");
    assert.ok(second.expiresAt > first.expiresAt);
    assert.equal(calls, 3);
    assert.equal(dave.state, "connected");
    assert.deepEqual(got.welcomes.map((w) => w.connection), [welcome.connection], "never reconnected");
    assert.deepEqual(got.errors, []);
  });

  test("a string token: close 4001 at expiry stops the client without retrying; setToken() and connect() resume", async () => {
    const erin = client("erin", { token: mintToken(secret, "erin", { ttlSeconds: 2 }) });
    const got = record(erin);
    const welcome = await erin.connect();
    const error = await nextEvent(erin, "error", (e) => e.code === ErrorCodes.TOKEN_EXPIRED, 15_000);
    assert.equal(error.closeCode, 4001);
    assert.equal(erin.state, "disconnected");
    assert.deepEqual(got.states, ["connecting", "connected", "disconnected"], "no reconnect attempt");
    await assert.rejects(erin.send("erin", 1, { whenDisconnected: "reject" }), (e) => e.code === ErrorCodes.NOT_CONNECTED);

    erin.setToken(mintToken(secret, "erin"));
    const again = await erin.connect();
    assert.equal(again.resumed, true);
    assert.equal(again.session, welcome.session);
  });
});
