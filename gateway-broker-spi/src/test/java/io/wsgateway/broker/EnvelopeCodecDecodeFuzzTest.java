package io.wsgateway.broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;

/**
 * Coverage-guided fuzzing of {@link EnvelopeCodec#decode} with Jazzer: any bytes either decode or fail
 * with the documented IllegalArgumentException, never another exception; decoding allocates at most a
 * small multiple of the input (a declared length cannot make it allocate what the input does not
 * hold); and what decodes re-encodes to a batch that decodes to the same envelopes.
 *
 * <p>{@code mvn verify} runs it twice: as a regression test over the inputs under {@code
 * src/test/resources/.../EnvelopeCodecDecodeFuzzTestInputs} (every crash found is kept there), and,
 * in the {@code fuzz} execution, as a 5-second fuzzing run. {@code gateway-broker-rabbit/fuzz.sh}
 * fuzzes for longer.
 */
public class EnvelopeCodecDecodeFuzzTest {

  /**
   * What a call may allocate: 256 KiB for the fixed costs (a string's 64 KiB buffer and its chars,
   * whatever the length prefix says, is the largest) plus 64 bytes per input byte.
   */
  static long allocationBound(int inputLength) {
    return 256 * 1024 + 64L * inputLength;
  }

  @FuzzTest(maxDuration = "5s")
  void decode(byte[] input) {
    fuzzerTestOneInput(input);
  }

  /** The fuzz target, also for the Jazzer command line ({@code --target_class}). */
  public static void fuzzerTestOneInput(byte[] input) {
    // Once unmeasured: the first call of a run loads and links classes, which allocates too.
    try {
      EnvelopeCodec.decode(input);
    } catch (IllegalArgumentException documented) {
      // Checked below.
    }
    long before = FuzzChecks.allocated();
    List<Envelope> batch;
    try {
      batch = EnvelopeCodec.decode(input);
    } catch (IllegalArgumentException documented) {
      FuzzChecks.assertAllocatedAtMost(before, allocationBound(input.length), "a failed decode of " + input.length + " bytes");
      return;
    }
    FuzzChecks.assertAllocatedAtMost(before, allocationBound(input.length), "decoding " + input.length + " bytes");
    List<Envelope> again = EnvelopeCodec.decode(EnvelopeCodec.encode(batch));
    assertEquals(batch.size(), again.size(), "batch size");
    for (int i = 0; i < batch.size(); i++) {
      Envelope a = batch.get(i);
      Envelope b = again.get(i);
      assertEquals(a.kind(), b.kind(), "kind");
      assertEquals(a.id(), b.id(), "id");
      assertEquals(a.target(), b.target(), "target");
      assertEquals(a.from(), b.from(), "from");
      assertEquals(a.origin(), b.origin(), "origin");
      assertArrayEquals(a.data(), b.data(), "data");
    }
  }
}
