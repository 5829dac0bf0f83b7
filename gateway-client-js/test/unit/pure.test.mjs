// Pure parts: backoff, sequencing, topic positions, frames, JWT expiry.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Backoff, jwtExpiresAt, parseServerFrame, Sequencer, TopicPositions } from "../../dist/index.js";

describe("Backoff", () => {
  test("the ceiling doubles from the base up to the cap, and stays there for any attempt", () => {
    const b = new Backoff(100, 10_000);
    assert.deepEqual([0, 1, 2, 3, 6, 7, 8, 100, 5000].map((n) => b.ceilingMs(n)),
      [100, 200, 400, 800, 6400, 10_000, 10_000, 10_000, 10_000]);
  });

  test("full jitter: the wait is uniform in [0, ceiling]", () => {
    const b = new Backoff(100, 10_000);
    assert.equal(b.delayMs(3, () => 0), 0);
    assert.equal(b.delayMs(3, () => 0.5), 400);
    assert.equal(b.delayMs(3, () => 0.999999), 800);
  });
});

describe("Sequencer", () => {
  test("delivers the next seq, drops what was seen, and reports a gap without advancing", () => {
    const s = new Sequencer();
    assert.deepEqual([1, 2, 2, 1, 4].map((n) => s.accept(n)), ["deliver", "deliver", "duplicate", "duplicate", "gap"]);
    assert.equal(s.lastSeq, 2);
    assert.equal(s.accept(3), "deliver");
    assert.equal(s.accept(4), "deliver");
  });

  test("a gap frame skips ahead only when it is beyond the next expected seq", () => {
    const s = new Sequencer();
    s.accept(1);
    assert.equal(s.skipTo(2), false, "nothing lost: 2 is next");
    assert.equal(s.skipTo(5), true);
    assert.equal(s.lastSeq, 4);
    assert.equal(s.accept(5), "deliver");
    s.reset();
    assert.equal(s.accept(1), "deliver");
  });
});

describe("TopicPositions", () => {
  test("an unknown position takes the first offset; then offsets are delivered once and in order", () => {
    const t = new TopicPositions();
    t.add("a");
    assert.deepEqual([7, 8, 8, 10].map((n) => t.accept("a", n)), ["deliver", "deliver", "duplicate", "gap"]);
    assert.equal(t.last("a"), 8);
    assert.equal(t.accept("unsubscribed", 99), "deliver", "nothing to judge by");
  });

  test("a subscribe ack sets the position when unknown, on another epoch, or when recovery failed", () => {
    const t = new TopicPositions();
    t.add("a");
    assert.equal(t.epoch("a"), undefined);
    assert.equal(t.acked("a", 5, "e1", undefined), true);
    assert.deepEqual([t.last("a"), t.epoch("a")], [5, "e1"]);
    t.accept("a", 6);
    assert.equal(t.acked("a", 5, "e1", true), true, "a catch-up's ack repeats since");
    assert.equal(t.last("a"), 6, "the known position stays");
    t.acked("a", 9, "e1", false);
    assert.equal(t.last("a"), 9, "recovered:false: what came before is lost");
    t.acked("a", 2, "e2", undefined);
    assert.deepEqual([t.last("a"), t.epoch("a")], [2, "e2"]);
    assert.equal(t.acked("b", 1, "e1", undefined), false, "not subscribed");
  });

  test("a gap frame skips ahead, or restarts in a new epoch, and says whether anything was lost", () => {
    const t = new TopicPositions();
    t.add("a");
    t.acked("a", 3, "e1", undefined);
    assert.equal(t.skipTo("a", "e1", 4), false);
    assert.equal(t.skipTo("a", "e1", 10), true);
    assert.equal(t.last("a"), 9);
    assert.equal(t.skipTo("a", "e2", 1), true);
    assert.deepEqual([t.last("a"), t.epoch("a")], [0, "e2"]);
    t.remove("a");
    assert.equal(t.skipTo("a", "e2", 5), false);
    assert.deepEqual(t.list(), []);
  });

  test("topics are listed in subscription order; subscribing again keeps the position", () => {
    const t = new TopicPositions();
    for (const n of ["c", "a", "b"]) {
      t.add(n);
    }
    t.acked("a", 4, "e", undefined);
    t.add("a");
    assert.deepEqual(t.list(), ["c", "a", "b"]);
    assert.equal(t.last("a"), 4);
  });
});

describe("parseServerFrame", () => {
  test("reads every field; numbers that are not non-negative integers are -1; a numeric id becomes a string", () => {
    const f = parseServerFrame('{"type":"ack","id":7,"topic":"t","offset":56,"epoch":"e","recovered":false,'
      + '"reason":"trimmed","seq":-3,"next_seq":1.5}');
    assert.equal(f.type, "ack");
    assert.equal(f.id, "7");
    assert.equal(f.offset, 56);
    assert.equal(f.epoch, "e");
    assert.equal(f.recovered, false);
    assert.equal(f.reason, "trimmed");
    assert.equal(f.seq, -1);
    assert.equal(f.nextSeq, -1);
    assert.equal(f.hasData, false);
  });

  test("data is kept as parsed, null included", () => {
    assert.deepEqual(parseServerFrame('{"type":"message","data":{"a":[1]}}').data, { a: [1] });
    const f = parseServerFrame('{"type":"message","data":null}');
    assert.equal(f.hasData, true);
    assert.equal(f.data, null);
  });

  test("rejects what is not a JSON object with a string type", () => {
    for (const text of ["[1]", "null", '{"type":1}', "{", '"x"']) {
      assert.throws(() => parseServerFrame(text), undefined, text);
    }
  });
});

describe("jwtExpiresAt", () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  test("reads exp in ms, non-ASCII claims included", () => {
    assert.equal(jwtExpiresAt(b64({ alg: "HS256" }) + "." + b64({ sub: "zoë", exp: 1767225600 }) + ".sig"), 1767225600000);
  });
  test("is -1 for an opaque token or one without a numeric exp", () => {
    assert.equal(jwtExpiresAt("opaque"), -1);
    assert.equal(jwtExpiresAt("a.b.c"), -1);
    assert.equal(jwtExpiresAt(b64({}) + "." + b64({ exp: "soon" }) + ".s"), -1);
  });
});
