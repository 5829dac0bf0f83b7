// Headless Chromium from Debian's chromium package, driven by playwright-core; never a downloaded
// browser build. Each launch gets a fresh profile directory, removed at close.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Launches Chromium with a fresh --user-data-dir (playwright passes it for a persistent context). */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(CHROMIUM + " is missing: apt-get update && apt-get install -y chromium (gateway-client-js/test.sh does)");
  }
  const profile = mkdtempSync(join(tmpdir(), "wsgw-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error("page error:", e));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a GatewayClient inside `page`, imported from the gateway's own /js/wsgateway-client.js (the
 * page must come from a gateway), with a token provider that calls the test's `mintToken` binding.
 * Everything the client reports is recorded in `window.rec`; reconnect times are measured from the
 * moment the client leaves `connected` to its next welcome.
 */
export async function startPageClient(page, { url, user, ttlSeconds = 3600, topics = [] }) {
  return page.evaluate(async ({ url, user, ttlSeconds, topics }) => {
    const { GatewayClient } = await import("/js/wsgateway-client.js");
    const rec = { messages: [], gaps: [], errors: [], states: [], welcomes: [], refreshes: [], reconnectMs: [] };
    let leftAt = null;
    const client = new GatewayClient({ url, token: () => window.mintToken(user, ttlSeconds) });
    client.on("message", (m) => rec.messages.push(m));
    client.on("gap", (g) => rec.gaps.push(g));
    client.on("error", (e) => rec.errors.push(e));
    client.on("welcome", (w) => rec.welcomes.push(w));
    client.on("refresh", (r) => rec.refreshes.push(r));
    client.on("state", ({ from, to }) => {
      rec.states.push(to);
      if (from === "connected") {
        leftAt = performance.now();
      } else if (to === "connected" && leftAt !== null) {
        rec.reconnectMs.push(performance.now() - leftAt);
        leftAt = null;
      }
    });
    window.rec = rec;
    window.client = client;
    const welcome = await client.connect();
    for (const topic of topics) {
      await client.subscribe(topic);
    }
    return welcome;
  }, { url, user, ttlSeconds, topics });
}

/** Counts of what the page's client recorded, cheap to poll. */
export function pageCounts(page) {
  return page.evaluate(() => ({
    messages: window.rec.messages.length,
    welcomes: window.rec.welcomes.length,
    refreshes: window.rec.refreshes.length,
    state: window.client.state,
  }));
}

/** Everything the page's client recorded. */
export function pageRecord(page) {
  return page.evaluate(() => window.rec);
}
