package io.wsgateway.broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.ArrayList;
import java.util.List;

/**
 * Coverage-guided fuzzing of {@link EnvelopeCodec#encode} with Jazzer: batches of envelopes with
 * arbitrary strings (NUL, surrogates, unpaired surrogates, long ones) and payloads either pass {@link
 * EnvelopeCodec#checkEncodable} and survive a round trip field for field, or are refused with an
 * IllegalArgumentException that names a field over {@link EnvelopeCodec#MAX_FIELD_BYTES}; never
 * another exception. Runs as {@link EnvelopeCodecDecodeFuzzTest} does.
 */
public class EnvelopeCodecRoundTripFuzzTest {

  @FuzzTest(maxDuration = "5s")
  void roundTrip(FuzzedDataProvider data) {
    fuzzerTestOneInput(data);
  }

  /** The fuzz target, also for the Jazzer command line ({@code --target_class}). */
  public static void fuzzerTestOneInput(FuzzedDataProvider data) {
    int count = data.consumeInt(1, 8);
    List<Envelope> batch = new ArrayList<>(count);
    boolean encodable = true;
    for (int i = 0; i < count; i++) {
      Envelope.Kind kind = data.pickValue(Envelope.Kind.values());
      // Occasionally a long string, to cross the field limit from both sides.
      String id = string(data);
      String target = string(data);
      String from = data.consumeBoolean() ? string(data) : null;
      String origin = data.consumeBoolean() ? string(data) : null;
      byte[] payload = data.consumeBytes(data.consumeInt(0, 4096));
      long seq = data.consumeLong();
      long epoch = data.consumeLong();
      Envelope e = switch (kind) {
        case USER -> Envelope.toUser(id, target, from, payload, origin);
        case TOPIC -> Envelope.toTopic(id, target, from, payload, origin, seq, epoch);
        case SESSION -> Envelope.toSession(id, target, from, seq, epoch, payload, origin);
        case TAKEOVER -> Envelope.takeover(id, target, from, origin);
      };
      try {
        EnvelopeCodec.checkEncodable(e);
      } catch (IllegalArgumentException refused) {
        assertTrue(refused.getMessage().contains("(expected: at most 65535 bytes of modified UTF-8)"), refused.getMessage());
        encodable = false;
      }
      batch.add(e);
    }
    byte[] encoded;
    try {
      encoded = EnvelopeCodec.encode(batch);
    } catch (IllegalArgumentException refused) {
      assertTrue(!encodable, "encode refused a batch checkEncodable accepted: " + refused.getMessage());
      return;
    }
    assertTrue(encodable, "encode accepted a batch checkEncodable refused");
    List<Envelope> decoded = EnvelopeCodec.decode(encoded);
    assertEquals(batch.size(), decoded.size());
    for (int i = 0; i < batch.size(); i++) {
      Envelope a = batch.get(i);
      Envelope b = decoded.get(i);
      assertEquals(a.kind(), b.kind(), "kind");
      assertEquals(a.id(), b.id(), "id");
      assertEquals(a.target(), b.target(), "target");
      assertEquals(a.from(), b.from(), "from");
      assertEquals(a.origin(), b.origin(), "origin");
      assertArrayEquals(a.data(), b.data(), "data");
      assertEquals(a.seq(), b.seq(), "seq");
      assertEquals(a.epoch(), b.epoch(), "epoch");
    }
  }

  private static String string(FuzzedDataProvider data) {
    if (data.consumeInt(0, 15) == 0) {
      // Long: around the limit, in 1-, 2- or 3-byte characters.
      char c = data.pickValue(new Character[] {'a', '\0', '\u00e9', '\u20ac', '\ud83d'});
      return String.valueOf(c).repeat(data.consumeInt(21_000, 66_000));
    }
    return data.consumeString(64);
  }
}
