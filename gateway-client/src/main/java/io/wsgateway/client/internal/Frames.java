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

  /**
   * A server frame; fields it did not carry are {@code null} (or -1 for numbers).
   *
   * @param seq a direct message's number in the session
   * @param offset a topic message's number in its topic's history, or a subscribe ack's position
   * @param epoch the topic history's epoch (subscribe ack, topic gap), a string as the server wrote it
   * @param recovered whether a subscribe with {@code since} caught up (absent without {@code since})
   * @param nextSeq a session gap's first seq after the loss
   * @param nextOffset a topic gap's first offset after the loss
   */
  public record ServerFrame(String type, String id, String code, String message, String session, Boolean resumed,
      String reason, long expiresAt, long delayMs, String from, String topic, String data, long seq, long offset,
      String epoch, Boolean recovered, long nextSeq, long nextOffset) {}

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
    long offset = -1;
    String epoch = null;
    Boolean recovered = null;
    long nextSeq = -1;
    long nextOffset = -1;
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
          case "resumed" -> resumed = bool(p, t);
          case "reason" -> reason = string(p, t);
          case "expires_at" -> expiresAt = number(p, t);
          case "delay_ms" -> delayMs = number(p, t);
          case "from" -> from = string(p, t);
          case "topic" -> topic = string(p, t);
          case "seq" -> seq = number(p, t);
          case "offset" -> offset = number(p, t);
          case "epoch" -> epoch = string(p, t);
          case "recovered" -> recovered = bool(p, t);
          case "next_seq" -> nextSeq = number(p, t);
          case "next_offset" -> nextOffset = number(p, t);
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
        seq, offset, epoch, recovered, nextSeq, nextOffset);
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

  /**
   * {@code {"type":"subscribe","id":id,"topic":topic[,"since":since,"epoch":epoch]}}: with {@code
   * epoch} not null, asks the server to catch up on the topic's publications after {@code since}.
   */
  public static String subscribe(String id, String topic, long since, String epoch) {
    StringBuilder b = new StringBuilder(64 + topic.length());
    b.append("{\"type\":\"subscribe\",\"id\":");
    quote(b, id);
    b.append(",\"topic\":");
    quote(b, topic);
    if (epoch != null) {
      b.append(",\"since\":").append(since).append(",\"epoch\":");
      quote(b, epoch);
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

  /** A non-negative integer, or -1 for anything else (a negative number, a float, another type). */
  private static long number(JsonParser p, JsonToken t) throws IOException {
    if (t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
      return Math.max(-1, p.getLongValue());
    }
    p.skipChildren();
    return -1;
  }

  private static Boolean bool(JsonParser p, JsonToken t) throws IOException {
    if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
      return t == JsonToken.VALUE_TRUE;
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
