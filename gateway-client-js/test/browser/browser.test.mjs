// The client in headless Chromium against the real example gateway: the chat page, and the client
// module the gateway serves, driven from the page.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import WebSocket from "ws";
import { GatewayClient } from "../../dist/index.js";
import { launchChromium, pageCounts, pageRecord, startPageClient } from "../support/browser.mjs";
import { mintToken, newSecret, runId, startCuttablePath, startGateway, until } from "../support/gateway.mjs";

const id = runId();
const secret = newSecret();
let gateway;
let browser;
let page;
const cleanups = [];

before(async () => {
  [gateway, browser] = await Promise.all([
    startGateway({ env: { GATEWAY_JWT_SECRET: secret }, logName: "browser-" + id }),
    launchChromium(),
  ]);
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    await c();
  }
});

async function newPage() {
  page = await browser.newPage();
  await page.exposeFunction("mintToken", (user, ttlSeconds) => mintToken(secret, user, { ttlSeconds }));
  await page.goto(gateway.pageUrl);
  cleanups.push(() => page.close());
  return page;
}

/** A Node client (ws) on the gateway itself. */
async function nodeClient(user) {
  const c = new GatewayClient({ url: gateway.url, token: () => mintToken(secret, user), WebSocket });
  cleanups.push(() => c.close());
  await c.connect();
  return c;
}

describe("in Chromium", () => {
  test("the chat page runs on the client: connect, a direct message, a topic", async () => {
    const p = await newPage();
    await p.fill("#token", mintToken(secret, "alice"));
    await p.click("#connect");
    await p.waitForFunction(() => document.getElementById("state").textContent === "connected");
    await p.fill("#to", "alice");
    await p.fill("#send-text", "hello me");
    await p.press("#send-text", "Enter");
    await p.waitForFunction(() => document.getElementById("log").textContent.includes("#1 [direct] alice: hello me"));
    await p.fill("#topic", "room:" + id);
    await p.click("#subscribe");
    await p.waitForFunction((t) => document.getElementById("subscriptions").textContent === t, "room:" + id);
    await p.fill("#publish-text", "hi room");
    await p.press("#publish-text", "Enter");
    await p.waitForFunction((t) => document.getElementById("log").textContent.includes("@1 [" + t + "] alice: hi room"),
      "room:" + id);
    const log = await p.textContent("#log");
    assert.match(log, /ack \(send to alice\)/);
    assert.doesNotMatch(log, /error/);
  });

  test("send and receive, and a topic caught up after a network cut: once each, in order", async () => {
    const path = await startCuttablePath(gateway.port);
    cleanups.push(() => path.close());
    const p = await newPage();
    const topic = "feed:" + id;
    const welcome = await startPageClient(p, { url: path.url, user: "bob", topics: [topic] });
    assert.equal(welcome.user, "bob");
    const alice = await nodeClient("alice");
    const aliceGot = [];
    alice.on("message", (m) => aliceGot.push(m));

    await alice.send("bob", { n: 1 });
    await alice.publish(topic, { n: 1 });
    await until("bob has the first two", async () => (await pageCounts(p)).messages === 2);
    await p.evaluate(() => window.client.send("alice", "from the browser")); // resolves on the ack
    await until("alice has the browser's message", () => aliceGot.length === 1);
    assert.deepEqual(aliceGot[0], { data: "from the browser", from: "bob", seq: 1 });

    path.cut();
    await until("the page noticed the cut", async () => (await pageCounts(p)).state === "reconnecting");
    for (let n = 2; n <= 6; n++) {
      await alice.send("bob", { n });
      await alice.publish(topic, { n });
    }
    path.restore();
    await until("the page caught up", async () => (await pageCounts(p)).messages === 12, { timeoutMs: 30_000 });
    const rec = await pageRecord(p);
    const direct = rec.messages.filter((m) => m.topic === undefined);
    const published = rec.messages.filter((m) => m.topic === topic);
    assert.deepEqual(direct.map((m) => [m.seq, m.data.n]), [1, 2, 3, 4, 5, 6].map((n) => [n, n]));
    assert.deepEqual(published.map((m) => [m.offset, m.data.n]), [1, 2, 3, 4, 5, 6].map((n) => [n, n]));
    assert.equal(rec.welcomes.length, 2);
    assert.equal(rec.welcomes[1].resumed, true);
    assert.deepEqual(rec.gaps, []);
  });

  test("token refresh: the page's provider is asked before expiry and the connection outlives its first token", async () => {
    const p = await newPage();
    const welcome = await startPageClient(p, { user: "carol", url: gateway.url, ttlSeconds: 3 });
    await until("two refreshes", async () => (await pageCounts(p)).refreshes === 2, { timeoutMs: 20_000 });
    const rec = await pageRecord(p);
    assert.ok(Date.now() > welcome.expiresAt, "past the first token's expiry");
    assert.deepEqual(rec.welcomes.map((w) => w.connection), [welcome.connection], "never reconnected");
    assert.deepEqual(rec.errors, []);
    assert.equal((await pageCounts(p)).state, "connected");
  });
});
