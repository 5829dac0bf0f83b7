package io.wsgateway.client.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.io.IOException;

/**
 * Reads server frames and writes client frames of the gateway's default protocol. Stateless and
 * thread-safe. The {@code data} of a message is sliced from the frame text, never re-serialised, so
 * the application sees the sender's bytes.
 */
public final class Frames {

  private static final JsonFactory JSON = new JsonFactory();

  private Frames() {}

  /** A server frame; fields it did not carry are {@code null} (or -1 for numbers). */
  public record ServerFrame(String type, String id, String code, String message, String session, Boolean resumed,
      String reason, long expiresAt, long delayMs, String from, String topic, String data, long seq) {}

  /**
   * Parses one server frame.
   *
   * @throws IllegalArgumentException if it is not a JSON object with a string {@code type}
   */
  public static ServerFrame parse(String text) {
    String type = null;
    String id = null;
    String code = null;
    String message = null;
    String session = null;
    Boolean resumed = null;
    String reason = null;
    long expiresAt = -1;
    long delayMs = -1;
    String from = null;
    String topic = null;
    String data = null;
    long seq = -1;
    try (JsonParser p = JSON.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        switch (name) {
          case "type" -> type = string(p, t);
          case "id" -> id = t == JsonToken.VALUE_NUMBER_INT ? p.getText() : string(p, t);
          case "code" -> code = string(p, t);
          case "message" -> message = string(p, t);
          case "session" -> session = string(p, t);
          case "resumed" -> resumed = t == JsonToken.VALUE_TRUE ? Boolean.TRUE : t == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
          case "reason" -> reason = string(p, t);
          case "expires_at" -> expiresAt = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          case "delay_ms" -> delayMs = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          case "from" -> from = string(p, t);
          case "topic" -> topic = string(p, t);
          case "seq" -> seq = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          case "data" -> data = slice(text, p, t);
          default -> p.skipChildren();
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT) {
        throw new IllegalArgumentException("truncated JSON object");
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
    }
    if (type == null) {
      throw new IllegalArgumentException("no string type");
    }
    return new ServerFrame(type, id, code, message, session, resumed, reason, expiresAt, delayMs, from, topic, data,
        seq);
  }

  /** The {@code type} and {@code id} (or {@code null}) of a raw client frame, after checking it is one JSON object. */
  public record RawFrame(String type, String id) {}

  /**
   * Checks a raw client frame.
   *
   * @throws IllegalArgumentException if it is not exactly one JSON object with a string {@code type}
   */
  public static RawFrame inspect(String text) {
    String type = null;
    String id = null;
    try (JsonParser p = JSON.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        if (name.equals("type")) {
          type = string(p, t);
        } else if (name.equals("id")) {
          id = t == JsonToken.VALUE_NUMBER_INT ? p.getText() : string(p, t);
        } else {
          p.skipChildren();
        }
      }
      if (p.nextToken() != null) {
        throw new IllegalArgumentException("trailing content after the JSON object");
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
    }
    if (type == null) {
      throw new IllegalArgumentException("no string type");
    }
    return new RawFrame(type, id);
  }

  /**
   * Checks that {@code json} is exactly one JSON value, so that it can be embedded as {@code data}
   * without changing the frame around it.
   *
   * @throws IllegalArgumentException if it is not
   */
  public static void checkValue(String json) {
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() == null) {
        throw new IllegalArgumentException("empty");
      }
      p.skipChildren();
      if (p.nextToken() != null) {
        throw new IllegalArgumentException("trailing content after the JSON value");
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
    }
  }

  /** {@code {"type":type,"id":id,key:value[,"data":data]}} with {@code value} quoted and {@code data} raw. */
  public static String operation(String type, String id, String key, String value, String data) {
    StringBuilder b = new StringBuilder(48 + value.length() + (data == null ? 0 : data.length()));
    b.append("{\"type\":\"").append(type).append("\",\"id\":");
    quote(b, id);
    b.append(",\"").append(key).append("\":");
    quote(b, value);
    if (data != null) {
      b.append(",\"data\":").append(data);
    }
    return b.append('}').toString();
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"');
    JsonStringEncoder.getInstance().quoteAsString(s, b);
    b.append('"');
  }

  private static String string(JsonParser p, JsonToken t) throws IOException {
    if (t == JsonToken.VALUE_STRING) {
      return p.getText();
    }
    p.skipChildren();
    return null;
  }

  /** The raw text of the current value: from its first character to just after its last. */
  private static String slice(String text, JsonParser p, JsonToken t) throws IOException {
    int start = (int) p.currentTokenLocation().getCharOffset();
    if (t == JsonToken.VALUE_STRING) {
      p.getText(); // finishes the lazily read string, so the location is after its closing quote
    } else {
      p.skipChildren();
    }
    int end = (int) p.currentLocation().getCharOffset();
    return text.substring(start, end);
  }
}
