package io.wsgateway.netty.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;

/**
 * The default JSON protocol: parses client frames and writes server frames. See docs/protocol.md.
 *
 * <p>Server frames are written by hand into pooled buffers: their shapes are fixed, and the payload
 * is copied as raw bytes, never parsed or re-serialised. Stateless and thread-safe.
 */
final class Protocol {

  static final String SEND = "send";
  static final String SUBSCRIBE = "subscribe";
  static final String UNSUBSCRIBE = "unsubscribe";
  static final String PUBLISH = "publish";
  static final String REFRESH = "refresh";

  /** Types the protocol owns; a client frame of one of these that is not a client type is an error. */
  static final Set<String> RESERVED = Set.of(SEND, SUBSCRIBE, UNSUBSCRIBE, PUBLISH, REFRESH,
      "welcome", "message", "ack", "error", "reconnect", "resume", "ping", "pong", "gap");

  private static final JsonFactory JSON = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
      .build();

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  /** First byte of a server text frame: FIN set, no RSV bits (not compressed), opcode 1 (text). */
  private static final int FIN_TEXT = 0x81;

  private Protocol() {}

  /** Thrown for a frame that is not valid JSON or not a protocol object. */
  static final class MalformedFrameException extends Exception {
    private static final long serialVersionUID = 1L;
    final String id;

    MalformedFrameException(String message, String id) {
      super(message, null, false, false);
      this.id = id;
    }
  }

  /** Parses a client text frame. */
  static ClientFrame parse(byte[] frame) throws MalformedFrameException {
    String type = null;
    String id = null;
    String to = null;
    String topic = null;
    String token = null;
    byte[] data = null;
    long since = -1;
    String epoch = null;
    if (!looksUtf8(frame) || !startsWithBrace(frame)) {
      // Answered without the JSON parser, whose exception would cost a stack trace per bad frame.
      throw new MalformedFrameException("frame is not a JSON object", null);
    }
    try (JsonParser p = JSON.createParser(frame)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedFrameException("frame is not a JSON object", null);
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "type" -> type = stringValue(p, value, name, id);
          case "id" -> id = idValue(p, value, id);
          case "to" -> to = stringValue(p, value, name, id);
          case "topic" -> topic = stringValue(p, value, name, id);
          case "token" -> token = stringValue(p, value, name, id);
          case "since" -> since = sinceValue(p, value, id);
          case "epoch" -> epoch = stringValue(p, value, name, id);
          case "data" -> {
            int start = (int) p.currentTokenLocation().getByteOffset();
            if (value.isStructStart()) {
              p.skipChildren();
            } else {
              p.finishToken();
            }
            int end = (int) p.currentLocation().getByteOffset();
            if (start < 0 || end < start || end > frame.length) {
              throw new MalformedFrameException("\"data\" could not be read", id); // never seen: see looksUtf8
            }
            data = Arrays.copyOfRange(frame, start, end);
          }
          default -> p.skipChildren();
        }
      }
      if (t != JsonToken.END_OBJECT) {
        throw new MalformedFrameException("frame is not a JSON object", id);
      }
      if (p.nextToken() != null) {
        throw new MalformedFrameException("trailing content after the JSON object", id);
      }
    } catch (IOException e) {
      throw new MalformedFrameException("invalid JSON: " + firstLine(e.getMessage()), id);
    }
    if (type == null || type.isEmpty()) {
      throw new MalformedFrameException("missing \"type\"", id);
    }
    return new ClientFrame(type, id, to, topic, token, data, since, epoch);
  }

  /**
   * Whether Jackson will read {@code frame} as UTF-8, which the {@code data} slice needs (it is cut by
   * byte offsets). Jackson guesses UTF-16 or UTF-32 from a byte-order mark or from NUL bytes among the
   * first four, and a NUL byte is valid UTF-8, so a text frame of UTF-16 JSON passes the WebSocket
   * layer; but JSON in UTF-8 never starts with NUL (nor with 0xFE or 0xFF, which UTF-8 never has), so
   * such a frame is simply not a JSON object. Found by fuzzing.
   */
  private static boolean looksUtf8(byte[] frame) {
    if (frame.length > 0 && (frame[0] == (byte) 0xFE || frame[0] == (byte) 0xFF)) {
      return false;
    }
    for (int i = 0; i < Math.min(4, frame.length); i++) {
      if (frame[i] == 0) {
        return false;
      }
    }
    return true;
  }

  /** Whether the first byte after JSON whitespace is an opening brace. */
  private static boolean startsWithBrace(byte[] frame) {
    for (byte b : frame) {
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        return b == '{';
      }
    }
    return false;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  private static String stringValue(JsonParser p, JsonToken value, String name, String id)
      throws IOException, MalformedFrameException {
    if (value != JsonToken.VALUE_STRING) {
      throw new MalformedFrameException("\"" + name + "\" must be a string", id);
    }
    return p.getText();
  }

  /** A subscribe's {@code since}: the last offset the client has, an integer >= 0. */
  private static long sinceValue(JsonParser p, JsonToken value, String id) throws IOException, MalformedFrameException {
    if (value == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
      long since = p.getLongValue();
      if (since >= 0) {
        return since;
      }
    }
    throw new MalformedFrameException("\"since\" must be an integer >= 0", id);
  }

  private static String idValue(JsonParser p, JsonToken value, String id) throws IOException, MalformedFrameException {
    if (value == JsonToken.VALUE_STRING || value == JsonToken.VALUE_NUMBER_INT) {
      String text = p.getText();
      if (text.length() > 128) {
        throw new MalformedFrameException("\"id\" longer than 128 characters", null);
      }
      return text;
    }
    throw new MalformedFrameException("\"id\" must be a string or integer", id);
  }

  // ---- server frames ----

  private static final byte[] MESSAGE_HEAD = ascii("{\"type\":\"message\"");
  private static final byte[] FROM_KEY = ascii(",\"from\":\"");
  private static final byte[] TOPIC_KEY = ascii(",\"topic\":\"");
  private static final byte[] DATA_KEY = ascii(",\"data\":");
  private static final byte[] SEQ_KEY = ascii(",\"seq\":");
  private static final byte[] OFFSET_KEY = ascii(",\"offset\":");
  private static final byte[] NO_KEY = new byte[0];
  private static final byte[] ACK_HEAD = ascii("{\"type\":\"ack\",\"id\":\"");

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Whether {@code s} is its own JSON string body byte for byte: printable ASCII without a quote or
   * backslash (user ids, topics and frame ids nearly always are), so it can be copied without escaping.
   */
  static boolean isPlain(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
        return false;
      }
    }
    return true;
  }

  /** The shared part of a direct {@code message} frame, up to and including {@code "seq":}. */
  static byte[] messagePrefix(String from, String topic, byte[] data) {
    return messagePrefix(from, topic, data, SEQ_KEY);
  }

  /**
   * The shared part of a topic {@code message} frame: up to and including {@code "offset":} when the
   * topic has a history ({@code history}), else the whole frame but its closing brace (a topic
   * message without history carries no number; see {@link #message} with {@code n < 0}).
   */
  static byte[] topicPrefix(String from, String topic, byte[] data, boolean history) {
    return messagePrefix(from, topic, data, history ? OFFSET_KEY : NO_KEY);
  }

  private static byte[] messagePrefix(String from, String topic, byte[] data, byte[] numberKey) {
    if ((from == null || isPlain(from)) && (topic == null || isPlain(topic))) {
      // Once per routed message: one array, filled in place.
      int length = MESSAGE_HEAD.length + (from == null ? 0 : FROM_KEY.length + from.length() + 1)
          + (topic == null ? 0 : TOPIC_KEY.length + topic.length() + 1) + DATA_KEY.length + data.length
          + numberKey.length;
      byte[] prefix = new byte[length];
      int at = put(prefix, 0, MESSAGE_HEAD);
      if (from != null) {
        at = putQuoted(prefix, put(prefix, at, FROM_KEY), from);
      }
      if (topic != null) {
        at = putQuoted(prefix, put(prefix, at, TOPIC_KEY), topic);
      }
      at = put(prefix, put(prefix, at, DATA_KEY), data);
      put(prefix, at, numberKey);
      return prefix;
    }
    StringBuilder head = new StringBuilder(64);
    head.append("{\"type\":\"message\"");
    if (from != null) {
      head.append(",\"from\":");
      appendString(head, from);
    }
    if (topic != null) {
      head.append(",\"topic\":");
      appendString(head, topic);
    }
    head.append(",\"data\":");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.UTF_8);
    byte[] prefix = new byte[headBytes.length + data.length + numberKey.length];
    System.arraycopy(headBytes, 0, prefix, 0, headBytes.length);
    System.arraycopy(data, 0, prefix, headBytes.length, data.length);
    System.arraycopy(numberKey, 0, prefix, headBytes.length + data.length, numberKey.length);
    return prefix;
  }

  private static int put(byte[] to, int at, byte[] bytes) {
    System.arraycopy(bytes, 0, to, at, bytes.length);
    return at + bytes.length;
  }

  /** Copies a plain string (see {@link #isPlain}) and its closing quote; the opening one is in the key. */
  @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): exactly right for ASCII
  private static int putQuoted(byte[] to, int at, String plain) {
    plain.getBytes(0, plain.length(), to, at);
    to[at + plain.length()] = '"';
    return at + plain.length() + 1;
  }

  /**
   * An {@code ack} frame as WebSocket wire bytes (as {@link #wireMessage}), for an id that
   * {@link #isPlain} (the parser caps ids at 128 characters).
   */
  static ByteBuf wireAck(ByteBufAllocator alloc, String plainId) {
    int payload = ACK_HEAD.length + plainId.length() + 2;
    ByteBuf buf = textFrame(alloc, payload);
    buf.writeBytes(ACK_HEAD);
    buf.writeCharSequence(plainId, StandardCharsets.US_ASCII);
    buf.writeByte('"').writeByte('}');
    return buf;
  }

  /**
   * A server frame's JSON text as WebSocket wire bytes (as {@link #wireMessage}): the header and the
   * UTF-8 payload in one buffer, with no frame object and no second copy in the frame encoder.
   */
  static ByteBuf wireText(ByteBufAllocator alloc, String text) {
    int payload = ByteBufUtil.utf8Bytes(text);
    ByteBuf buf = textFrame(alloc, payload);
    ByteBufUtil.reserveAndWriteUtf8(buf, text, payload);
    return buf;
  }

  /**
   * A buffer sized for a server text frame of {@code payload} bytes, holding its header: unmasked,
   * final, text (RFC 6455 section 5.2), the length in the shortest of its three forms.
   */
  private static ByteBuf textFrame(ByteBufAllocator alloc, int payload) {
    int header = payload <= 125 ? 2 : payload <= 0xFFFF ? 4 : 10;
    ByteBuf buf = alloc.buffer(header + payload);
    buf.writeByte(FIN_TEXT);
    if (payload <= 125) {
      buf.writeByte(payload);
    } else if (payload <= 0xFFFF) {
      buf.writeByte(126);
      buf.writeShort(payload);
    } else {
      buf.writeByte(127);
      buf.writeLong(payload);
    }
    return buf;
  }

  /** A complete {@code message} frame: the shared prefix, this connection's seq, and the closing brace. */
  static ByteBuf message(ByteBufAllocator alloc, byte[] prefix, long seq) {
    ByteBuf buf = alloc.buffer(prefix.length + 21);
    buf.writeBytes(prefix);
    if (seq >= 0) {
      buf.writeCharSequence(Long.toString(seq), StandardCharsets.US_ASCII);
    }
    buf.writeByte('}');
    return buf;
  }

  /**
   * A complete {@code message} frame as WebSocket wire bytes: an unmasked, final text frame (RFC 6455
   * section 5.2, as a server sends it) whose payload is what {@link #message} builds. Written past
   * the frame encoder, so only on connections without extensions (a permessage-deflate connection
   * must get its frames through the deflate encoder).
   */
  static ByteBuf wireMessage(ByteBufAllocator alloc, byte[] prefix, long seq) {
    int digits = seq < 0 ? 0 : digits(seq);
    ByteBuf buf = textFrame(alloc, prefix.length + digits + 1);
    buf.writeBytes(prefix);
    if (seq >= 0) {
      writeDigits(buf, seq, digits);
    }
    buf.writeByte('}');
    return buf;
  }

  /** Number of decimal digits of {@code n} (n >= 0). */
  static int digits(long n) {
    int d = 1;
    while (n >= 10) {
      n /= 10;
      d++;
    }
    return d;
  }

  private static void writeDigits(ByteBuf buf, long n, int digits) {
    int end = buf.writerIndex() + digits;
    for (int i = end - 1; i >= buf.writerIndex(); i--) {
      buf.setByte(i, '0' + (int) (n % 10));
      n /= 10;
    }
    buf.writerIndex(end);
  }

  static String welcome(String session, String connection, String user, String instance, long heartbeatMs,
      Long expiresAtMs, Boolean resumed, String reason) {
    StringBuilder b = new StringBuilder(160);
    b.append("{\"type\":\"welcome\",\"session\":");
    appendString(b, session);
    b.append(",\"connection\":");
    appendString(b, connection);
    b.append(",\"user\":");
    appendString(b, user);
    b.append(",\"instance\":");
    appendString(b, instance);
    b.append(",\"heartbeat_ms\":").append(heartbeatMs);
    if (expiresAtMs != null) {
      b.append(",\"expires_at\":").append(expiresAtMs.longValue());
    }
    if (resumed != null) {
      b.append(",\"resumed\":").append(resumed.booleanValue());
    }
    if (reason != null) {
      b.append(",\"reason\":");
      appendString(b, reason);
    }
    return b.append('}').toString();
  }

  static String reconnect(long delayMs, String reason) {
    StringBuilder b = new StringBuilder(64).append("{\"type\":\"reconnect\",\"delay_ms\":").append(delayMs)
        .append(",\"reason\":");
    appendString(b, reason);
    return b.append('}').toString();
  }

  static String ack(String id) {
    StringBuilder b = new StringBuilder(32).append("{\"type\":\"ack\",\"id\":");
    appendString(b, id);
    return b.append('}').toString();
  }

  /** An epoch as the protocol shows it: a string (JavaScript numbers cannot hold 63 bits). */
  static String epochText(long epoch) {
    return Long.toString(epoch, 36);
  }

  /** The epoch a client sent back, or -1 if it is not one this gateway wrote. */
  static long parseEpoch(String text) {
    try {
      return text == null ? -1 : Long.parseLong(text, 36);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * The ack of a subscribe to a topic with history: where the subscription starts ({@code offset},
   * the last one before the first it will get) and, when the client asked to catch up ({@code
   * recovered} not null), whether it did, and if not why.
   */
  static String subscribeAck(String id, String topic, long offset, String epoch, Boolean recovered, String reason) {
    StringBuilder b = new StringBuilder(96).append("{\"type\":\"ack\"");
    if (id != null) {
      b.append(",\"id\":");
      appendString(b, id);
    }
    b.append(",\"topic\":");
    appendString(b, topic);
    b.append(",\"offset\":").append(offset).append(",\"epoch\":");
    appendString(b, epoch);
    if (recovered != null) {
      b.append(",\"recovered\":").append(recovered.booleanValue());
    }
    if (reason != null) {
      b.append(",\"reason\":");
      appendString(b, reason);
    }
    return b.append('}').toString();
  }

  /** A session's direct messages before seq {@code next} that the client has not got are lost. */
  static String sessionGap(String reason, long next) {
    StringBuilder b = new StringBuilder(64).append("{\"type\":\"gap\",\"reason\":");
    appendString(b, reason);
    return b.append(",\"next_seq\":").append(next).append('}').toString();
  }

  /**
   * A topic's publications before offset {@code next} of {@code epoch} that the client has not got
   * are lost (its history was trimmed, or lost and restarted in a new epoch).
   */
  static String topicGap(String topic, String reason, String epoch, long next) {
    StringBuilder b = new StringBuilder(96).append("{\"type\":\"gap\",\"topic\":");
    appendString(b, topic);
    b.append(",\"reason\":");
    appendString(b, reason);
    b.append(",\"epoch\":");
    appendString(b, epoch);
    return b.append(",\"next_offset\":").append(next).append('}').toString();
  }

  static String error(String id, String code, String message) {
    StringBuilder b = new StringBuilder(96).append("{\"type\":\"error\"");
    if (id != null) {
      b.append(",\"id\":");
      appendString(b, id);
    }
    b.append(",\"code\":");
    appendString(b, code);
    b.append(",\"message\":");
    appendString(b, message);
    return b.append('}').toString();
  }

  /**
   * The error frame that tells a client a subscription was dropped because its rights to the topic
   * are gone; {@code topic} is a field of its own so a client need not parse the message.
   */
  static String subscriptionRevoked(String topic) {
    StringBuilder b = new StringBuilder(128).append("{\"type\":\"error\",\"code\":\"")
        .append(io.wsgateway.ErrorCodes.SUBSCRIPTION_REVOKED).append("\",\"topic\":");
    appendString(b, topic);
    b.append(",\"message\":");
    appendString(b, "subscription to " + topic + " revoked: not authorized");
    return b.append('}').toString();
  }

  /** Appends {@code s} as a JSON string literal. */
  static void appendString(StringBuilder b, String s) {
    if (isPlain(s)) {
      b.append('"').append(s).append('"');
      return;
    }
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append("\\u00").append((char) HEX[c >> 4]).append((char) HEX[c & 0xF]);
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }

  /** Whether {@code bytes} is exactly one JSON value (used for payloads handed in by the host). */
  static boolean isJsonValue(byte[] bytes) {
    try (JsonParser p = JSON.createParser(bytes)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        return false;
      }
      if (t.isStructStart()) {
        p.skipChildren();
      }
      return p.nextToken() == null;
    } catch (IOException e) {
      return false;
    }
  }
}
