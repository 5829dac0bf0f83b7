package io.wsgateway.rabbit.internal;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.wsgateway.broker.Envelope;
import io.wsgateway.broker.EnvelopeCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Coverage-guided fuzzing of the ingress JSON parser with Jazzer, from valid bodies (the inputs under
 * {@code src/test/resources/.../IngressMessagesFuzzTestInputs}) mutated: any bytes either parse or
 * fail with the documented IllegalArgumentException, never another exception; what parses has its
 * fields within their bounds, passes {@link EnvelopeCodec#checkEncodable} (so it can never break the
 * publisher), and its data is exactly one strict JSON value. Runs in {@code mvn verify} as a regression
 * test over the inputs and as a 5-second fuzzing run; {@code fuzz.sh} fuzzes for longer.
 */
public class IngressMessagesFuzzTest {

  private static final IngressMessages INGRESS = new IngressMessages(64 * 1024);
  private static final ObjectMapper STRICT = JsonMapper.builder()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  @FuzzTest(maxDuration = "5s")
  @DictionaryEntries({"\"to\"", "\"topic\"", "\"data\"", "\"from\"", "\"id\"", "null", "true", "1e400", "\\u0000",
      "\\ud83d\\ude00", "\\ud800", "[", "]", "{", "}", ":", ","})
  void parse(byte[] input) {
    fuzzerTestOneInput(input);
  }

  /** The fuzz target, also for the Jazzer command line ({@code --target_class}). */
  public static void fuzzerTestOneInput(byte[] input) {
    Envelope e;
    try {
      e = INGRESS.parse(input);
    } catch (IllegalArgumentException documented) {
      assertTrue(documented.getMessage().startsWith("ingress body: "), documented.getMessage());
      return;
    }
    EnvelopeCodec.checkEncodable(e);
    assertTrue(e.kind() == Envelope.Kind.USER || e.kind() == Envelope.Kind.TOPIC, "kind " + e.kind());
    for (String field : new String[] {e.id(), e.target(), e.from()}) {
      if (field != null) {
        int bytes = field.getBytes(StandardCharsets.UTF_8).length;
        assertTrue(bytes >= 1 && bytes <= IngressMessages.MAX_FIELD_BYTES, "a field of " + bytes + " bytes");
      }
    }
    assertNull(e.origin(), "ingress has no origin");
    JsonNode data;
    try {
      data = STRICT.readTree(e.data());
    } catch (IOException notJson) {
      throw new AssertionError("data is not one JSON value: " + e.dataAsString(), notJson);
    }
    assertNotNull(data);
    assertTrue(!data.isMissingNode(), "data is empty");
  }
}
