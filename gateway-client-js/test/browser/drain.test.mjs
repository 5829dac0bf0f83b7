// The headline promise in a browser: two example gateways (Redis registry and recovery store,
// RabbitMQ broker) behind HAProxy; a page in Chromium receives a numbered direct stream and a
// numbered topic stream while its gateway is drained (SIGTERM, as a deploy does). The page's client
// follows the reconnect hint, resumes on the other gateway, and has every message once, in order.
// Sizes: DRAIN_BEFORE (messages per stream before the drain, default 100), DRAIN_AFTER (after the
// resume, default 300), DRAIN_RATE (messages per second per stream, default 200).
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { GatewayClient } from "../../dist/index.js";
import { launchChromium, pageCounts, pageRecord, startPageClient } from "../support/browser.mjs";
import { deleteRabbitNames, deleteRedisKeys, mintToken, newSecret, RESULTS, runId, startGateway, startHaproxy,
  until } from "../support/gateway.mjs";

const BEFORE = Number(process.env.DRAIN_BEFORE ?? 100);
const AFTER = Number(process.env.DRAIN_AFTER ?? 300);
const RATE = Number(process.env.DRAIN_RATE ?? 200);

const id = runId();
const secret = newSecret();
const redisPrefix = "wsgwtest:js-" + id + ":";
const rabbitPrefix = "wsgwtest.js-" + id;
const gateways = [];
let haproxy;
let browser;
let sender;

before(async () => {
  const env = {
    GATEWAY_JWT_SECRET: secret,
    GATEWAY_REDIS_URI: "redis://127.0.0.1:6379",
    GATEWAY_REDIS_PREFIX: redisPrefix,
    GATEWAY_RABBIT_URI: "amqp://guest:guest@127.0.0.1:5672",
    GATEWAY_RABBIT_PREFIX: rabbitPrefix,
    GATEWAY_DRAIN_SPREAD_MS: "1000",
    GATEWAY_DRAIN_DEADLINE_MS: "10000",
  };
  const started = await Promise.all(["g1", "g2"].map((g) =>
    startGateway({ env, instanceId: g + "-" + id, logName: "drain-" + g + "-" + id })));
  gateways.push(...started);
  [haproxy, browser] = await Promise.all([startHaproxy(gateways, "drain-" + id), launchChromium()]);
});

after(async () => {
  await sender?.close();
  await browser?.close();
  haproxy?.stop();
  for (const g of gateways) {
    await g.stop();
  }
  await deleteRedisKeys(redisPrefix);
  await deleteRabbitNames(rabbitPrefix);
});

test("a drain in the middle of a stream: the page resumes on the other gateway with nothing lost, duplicated or reordered",
  async (t) => {
    const page = await browser.newPage();
    await page.exposeFunction("mintToken", (user, ttlSeconds) => mintToken(secret, user, { ttlSeconds }));
    await page.goto(haproxy.pageUrl);
    const topic = "feed:" + id;
    const welcome = await startPageClient(page, { url: haproxy.url, user: "reader", topics: [topic] });
    const victim = gateways.find((g) => g.instanceId === welcome.instance);
    const survivor = gateways.find((g) => g !== victim);
    assert.ok(victim, "the page is on one of the two gateways: " + welcome.instance);

    // The sender stays on the survivor, so every one of its operations must be acknowledged.
    sender = new GatewayClient({ url: survivor.url, token: () => mintToken(secret, "sender"), WebSocket });
    await sender.connect();

    const acks = [];
    let sent = 0;
    let stopAt = Infinity;
    let failure;
    const timer = setInterval(() => {
      if (sent >= stopAt) {
        clearInterval(timer);
        return;
      }
      const n = sent++;
      acks.push(sender.send("reader", { n }).catch((e) => (failure ??= e)));
      acks.push(sender.publish(topic, { n }).catch((e) => (failure ??= e)));
    }, 1000 / RATE);
    try {
      await until(BEFORE + " messages of each stream before the drain",
        async () => (await pageCounts(page)).messages >= 2 * BEFORE, { timeoutMs: 60_000 });
      const drainStart = Date.now();
      const exited = victim.terminate();
      await until("the page welcomed on the other gateway", async () => (await pageCounts(page)).welcomes >= 2,
        { timeoutMs: 30_000 });
      const resumedAfterMs = Date.now() - drainStart; // polled: within 20 ms plus a page round trip
      stopAt = sent + AFTER;
      await until("the stream's end sent", () => sent >= stopAt, { timeoutMs: 60_000 });
      await Promise.all(acks);
      assert.equal(failure, undefined, "every send and publish of the sender is acknowledged");
      const total = sent;
      await until("the page has both streams", async () => (await pageCounts(page)).messages >= 2 * total,
        { timeoutMs: 60_000, describe: () => "sent " + total + " per stream" });
      assert.deepEqual(await exited, { code: 0, signal: null }, "the drained gateway exits 0");

      const rec = await pageRecord(page);
      const direct = rec.messages.filter((m) => m.topic === undefined);
      const published = rec.messages.filter((m) => m.topic === topic);
      const expected = Array.from({ length: total }, (_, n) => n);
      assert.deepEqual(direct.map((m) => m.data.n), expected, "direct: each once, in order");
      assert.deepEqual(published.map((m) => m.data.n), expected, "topic: each once, in order");
      assert.deepEqual(direct.map((m) => m.seq), expected.map((n) => n + 1), "seq contiguous");
      const first = published[0].offset;
      assert.deepEqual(published.map((m) => m.offset), expected.map((n) => first + n), "offsets contiguous");
      assert.equal(rec.messages.length, 2 * total, "nothing else");
      assert.equal(rec.welcomes.length, 2, "one reconnect");
      assert.equal(rec.welcomes[1].instance, survivor.instanceId);
      assert.equal(rec.welcomes[1].resumed, true);
      assert.equal(rec.welcomes[1].session, welcome.session);
      assert.deepEqual(rec.gaps, []);
      assert.deepEqual(rec.errors.filter((e) => e.code !== "connect_failed"), [],
        "leaving on a hint is no error (an attempt may still reach the draining gateway before HAProxy sees it)");

      const figures = {
        date: new Date().toISOString(),
        messagesChecked: rec.messages.length,
        perStream: total,
        ratePerStream: RATE,
        reconnectMs: rec.reconnectMs.map((ms) => Math.round(ms)),
        failedAttempts: rec.errors.length,
        sigtermToResumedMs: resumedAfterMs,
      };
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(join(RESULTS, "drain-figures.json"), JSON.stringify(figures, null, 2) + "\n");
      t.diagnostic("drain figures: " + JSON.stringify(figures));
    } finally {
      clearInterval(timer);
    }
  });
