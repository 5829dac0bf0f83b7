// Test support: the real example gateway in its own JVM, tokens, a cuttable TCP path, HAProxy, and
// the clean-up of what a run left in the shared Redis and RabbitMQ. No fixed waits: everything polls a
// condition against a deadline and fails with the last value seen.
import { spawn, execFile } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = resolve(here, "..", "..");
export const REPO = resolve(PACKAGE_DIR, "..");
export const JAR = join(REPO, "examples", "target", "gateway-example.jar");
export const RESULTS = join(PACKAGE_DIR, "test-results");
const run = promisify(execFile);

/** A run id: keeps this run's Redis keys, RabbitMQ names and log files apart from everyone else's. */
export function runId() {
  return randomBytes(4).toString("hex");
}

/** A random HS256 secret of 48 characters (the example requires >= 32 bytes). */
export function newSecret() {
  return "jsclient-test-" + randomBytes(24).toString("hex").slice(0, 34);
}

/** A compact HS256 JWT for `user`, allowed on every topic, expiring `ttlSeconds` from now. */
export function mintToken(secret, user, { ttlSeconds = 3600, topics = ["*"] } = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: "JWT" }) + "." + b64({ sub: user, iat: now, exp: now + ttlSeconds, topics });
  return head + "." + createHmac("sha256", secret).update(head).digest("base64url");
}

/**
 * Polls `condition` every `intervalMs` until it returns a truthy value (returned) or `timeoutMs`
 * passes; then fails naming `what` and the last value seen (`describe()` if given).
 */
export async function until(what, condition, { timeoutMs = 30_000, intervalMs = 20, describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await condition();
      if (last) {
        return last;
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const seen = describe ? describe() : last instanceof Error ? last.stack : JSON.stringify(last);
      throw new Error("timed out after " + timeoutMs + " ms waiting for " + what + "; last seen: " + seen);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resolves with the next `name` event of `client` that satisfies `predicate`, or fails after `timeoutMs`. */
export function nextEvent(client, name, predicate = () => true, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error("no matching " + name + " event within " + timeoutMs + " ms (state " + client.state + ")"));
    }, timeoutMs);
    const off = client.on(name, (value) => {
      if (predicate(value)) {
        clearTimeout(timer);
        off();
        resolve(value);
      }
    });
  });
}

/** A port that was free a moment ago (for HAProxy, which must be told its port up front). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the example gateway (`java -jar examples/target/gateway-example.jar`) on a port of its own
 * choosing and waits until it listens. `env` adds GATEWAY_* variables; the secret is required.
 */
export async function startGateway({ env, instanceId, logName }) {
  if (!existsSync(JAR)) {
    throw new Error(JAR + " is missing: build it with `mvn -B -q -pl examples -am package -DskipTests`");
  }
  mkdirSync(RESULTS, { recursive: true });
  const logFile = join(RESULTS, (logName ?? instanceId ?? "gateway") + ".log");
  const log = createWriteStream(logFile, { flags: "a" });
  const child = spawn("java", ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", JAR], {
    env: { ...process.env, GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: "0", ...(instanceId ? { GATEWAY_INSTANCE_ID: instanceId } : {}),
      ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let exit;
  const exited = new Promise((r) => child.once("exit", (code, signal) => {
    exit = { code, signal };
    r(exit);
  }));
  child.stdout.on("data", (d) => {
    out += d;
    log.write(d);
  });
  child.stderr.on("data", (d) => log.write(d));
  const port = await until("the gateway's banner in " + logFile, () => {
    if (exit) {
      throw new Error("the gateway exited with " + JSON.stringify(exit) + "; see " + logFile);
    }
    const m = /WebSocket\s+ws:\/\/[^:]+:(\d+)\//.exec(out);
    return m ? Number(m[1]) : 0;
  }, { timeoutMs: 60_000, intervalMs: 50, describe: () => out.slice(-500) || "(no output)" });
  const instance = /Gateway (\S+) is listening/.exec(out)?.[1];
  return {
    port,
    instanceId: instance,
    logFile,
    url: "ws://127.0.0.1:" + port + "/ws",
    pageUrl: "http://127.0.0.1:" + port + "/",
    exited,
    get alive() {
      return exit === undefined;
    },
    /** SIGTERM: the example drains (clients get `reconnect` hints), then exits 0. */
    terminate() {
      child.kill("SIGTERM");
      return exited;
    },
    async stop() {
      if (exit === undefined) {
        child.kill("SIGKILL");
        await exited;
      }
      log.end();
    },
  };
}

/**
 * A TCP path between clients and a gateway that the test can cut, like a network drop: `cut()`
 * destroys every connection (no close frame) and refuses new ones until `restore()`.
 */
export async function startCuttablePath(targetPort) {
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      sockets.add(a);
      a.on("error", () => b.destroy());
      a.on("close", () => {
        sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  return {
    port,
    url: "ws://127.0.0.1:" + port + "/ws",
    get connections() {
      return sockets.size / 2;
    },
    cut() {
      refusing = true;
      for (const s of [...sockets]) {
        s.destroy();
      }
    },
    restore() {
      refusing = false;
    },
    close() {
      refusing = true;
      for (const s of [...sockets]) {
        s.destroy();
      }
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * HAProxy in front of `gateways` with the rolling-restart test's settings: leastconn, a /ready check
 * every 300 ms that takes a draining instance out at once.
 */
export async function startHaproxy(gateways, name) {
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  const cfg = [
    "global", "  maxconn 2000",
    "defaults", "  mode http", "  timeout connect 2s", "  timeout client 60s", "  timeout server 60s",
    "  timeout tunnel 1h", "  option http-server-close",
    "frontend ws", "  bind 127.0.0.1:" + port, "  default_backend gateways",
    "backend gateways", "  balance leastconn", "  option httpchk GET /ready", "  http-check expect status 200",
    "  default-server inter 300ms fall 1 rise 1", "  timeout check 1s",
    ...gateways.map((g, i) => "  server g" + (i + 1) + " 127.0.0.1:" + g.port + " check"),
    "",
  ].join("\n");
  const cfgFile = join(RESULTS, name + "-haproxy.cfg");
  writeFileSync(cfgFile, cfg);
  const log = createWriteStream(join(RESULTS, name + "-haproxy.log"));
  const child = spawn("haproxy", ["-f", cfgFile, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = false;
  child.once("exit", () => (exited = true));
  await until("HAProxy routes to a ready gateway", async () => {
    if (exited) {
      throw new Error("haproxy exited; see " + join(RESULTS, name + "-haproxy.log"));
    }
    const res = await fetch("http://127.0.0.1:" + port + "/ready").catch(() => undefined);
    return res?.status === 200;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  return {
    port,
    url: "ws://127.0.0.1:" + port + "/ws",
    pageUrl: "http://127.0.0.1:" + port + "/",
    stop() {
      child.kill("SIGKILL");
    },
  };
}

/** Deletes this run's Redis keys (SCAN + DEL of the prefix; never FLUSHALL). */
export async function deleteRedisKeys(prefix) {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", "6379", "--scan", "--pattern", prefix + "*"],
    { maxBuffer: 64 * 1024 * 1024 });
  const keys = stdout.split("\n").filter((k) => k.length > 0);
  for (let i = 0; i < keys.length; i += 500) {
    await run("redis-cli", ["-h", "127.0.0.1", "-p", "6379", "DEL", ...keys.slice(i, i + 500)]);
  }
  return keys.length;
}

/** Deletes this run's RabbitMQ queues and exchanges: the names starting with `prefix.`, and only those. */
export async function deleteRabbitNames(prefix) {
  const list = async (what) => (await run("rabbitmqctl", ["-q", "list_" + what, "name"])).stdout.split("\n")
    .map((s) => s.trim()).filter((n) => n.startsWith(prefix + "."));
  const queues = await list("queues");
  const exchanges = await list("exchanges");
  const amqp = await import("amqplib");
  const connection = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
  try {
    const channel = await connection.createChannel();
    for (const q of queues) {
      await channel.deleteQueue(q);
    }
    for (const e of exchanges) {
      await channel.deleteExchange(e);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
  return { queues, exchanges };
}
