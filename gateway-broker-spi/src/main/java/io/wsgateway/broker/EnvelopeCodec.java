package io.wsgateway.broker;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A compact binary encoding of envelope batches, for broker implementations that move bytes.
 *
 * <p>Format: a version byte, an envelope count, then per envelope its kind, for topic and session
 * envelopes their seq and epoch (two longs), its fields as modified UTF-8 strings (absent ones as a
 * zero flag) and the payload length-prefixed. Batching many envelopes for
 * one destination into one broker message is what makes a broker fast under load, so the format is a
 * batch from the start. Stateless and thread-safe.
 *
 * <p>Limits: each string field ({@code id}, {@code target}, {@code from}, {@code origin}) holds at
 * most {@link #MAX_FIELD_BYTES} bytes of modified UTF-8, a batch at most {@link #MAX_BATCH}
 * envelopes. {@link #checkEncodable} tells whether an envelope fits before it is batched with others,
 * so a broker can refuse it alone.
 */
public final class EnvelopeCodec {

  /** Version 2 added the seq and epoch of topic and session envelopes, and takeovers. */
  private static final byte VERSION = 2;

  /** The largest batch {@link #decode} accepts, to bound memory against a corrupt message. */
  public static final int MAX_BATCH = 65_536;

  /**
   * The most bytes one string field may take in modified UTF-8 (1 byte per ASCII character except
   * NUL, 2 for NUL and up to U+07FF, 3 per other UTF-16 unit): 65,535, the length a field's 16-bit
   * prefix can express.
   */
  public static final int MAX_FIELD_BYTES = 65_535;

  /** The fewest bytes one encoded envelope takes: kind, two empty strings, two flags, a length. */
  private static final int MIN_ENVELOPE_BYTES = 1 + 2 + 2 + 1 + 1 + 4;

  private EnvelopeCodec() {}

  /**
   * Encodes a non-empty batch.
   *
   * @throws IllegalArgumentException if the batch is empty or larger than {@link #MAX_BATCH}, or an
   *     envelope does not pass {@link #checkEncodable}; nothing is encoded then
   */
  public static byte[] encode(List<Envelope> batch) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("batch: empty (expected: at least one envelope)");
    }
    if (batch.size() > MAX_BATCH) {
      throw new IllegalArgumentException("batch: " + batch.size() + " envelopes (expected: at most " + MAX_BATCH + ")");
    }
    for (Envelope e : batch) {
      checkEncodable(e);
    }
    int size = 8;
    for (Envelope e : batch) {
      size += 48 + e.data().length + e.target().length();
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(size);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      out.writeInt(batch.size());
      for (Envelope e : batch) {
        out.writeByte(e.kind().ordinal());
        if (sequenced(e.kind())) {
          out.writeLong(e.seq());
          out.writeLong(e.epoch());
        }
        out.writeUTF(e.id());
        out.writeUTF(e.target());
        writeNullable(out, e.from());
        writeNullable(out, e.origin());
        out.writeInt(e.data().length);
        out.write(e.data());
      }
    } catch (IOException impossible) {
      throw new UncheckedIOException(impossible);
    }
    return bytes.toByteArray();
  }

  /**
   * Checks that {@code envelope} can be encoded: every string field within {@link #MAX_FIELD_BYTES}.
   *
   * @return {@code envelope}
   * @throws IllegalArgumentException naming the first field that does not fit, e.g. {@code "envelope
   *     from: 70000 bytes (expected: at most 65535 bytes of modified UTF-8)"}
   */
  public static Envelope checkEncodable(Envelope envelope) {
    checkField("id", envelope.id());
    checkField("target", envelope.target());
    checkField("from", envelope.from());
    checkField("origin", envelope.origin());
    return envelope;
  }

  private static void checkField(String name, String value) {
    if (value == null || value.length() <= MAX_FIELD_BYTES / 3) {
      return; // At most 3 bytes per UTF-16 unit: fits without counting.
    }
    long bytes = modifiedUtf8Length(value);
    if (bytes > MAX_FIELD_BYTES) {
      throw new IllegalArgumentException("envelope " + name + ": " + bytes + " bytes (expected: at most "
          + MAX_FIELD_BYTES + " bytes of modified UTF-8)");
    }
  }

  /** The length of {@code value} as {@link DataOutputStream#writeUTF} writes it, without the prefix. */
  static long modifiedUtf8Length(String value) {
    long bytes = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      bytes += c >= 0x0001 && c <= 0x007F ? 1 : c <= 0x07FF ? 2 : 3;
    }
    return bytes;
  }

  /**
   * Decodes a batch produced by {@link #encode}. Never allocates more than the body's own size from a
   * length it declares.
   *
   * @throws IllegalArgumentException if the bytes are not exactly such a batch (trailing bytes
   *     included); no other exception
   */
  public static List<Envelope> decode(byte[] body) {
    try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(body))) {
      byte version = in.readByte();
      if (version != VERSION) {
        throw new IllegalArgumentException("envelope batch version: " + version + " (expected: " + VERSION + ")");
      }
      int count = in.readInt();
      if (count <= 0 || count > MAX_BATCH) {
        throw new IllegalArgumentException("envelope batch count: " + count + " (expected: 1.." + MAX_BATCH + ")");
      }
      if (count > body.length / MIN_ENVELOPE_BYTES) {
        throw new IllegalArgumentException("envelope batch count: " + count + " (expected: at most "
            + body.length / MIN_ENVELOPE_BYTES + " in " + body.length + " bytes)");
      }
      List<Envelope> batch = new ArrayList<>(count);
      Envelope.Kind[] kinds = Envelope.Kind.values();
      for (int i = 0; i < count; i++) {
        int kind = in.readUnsignedByte();
        if (kind >= kinds.length) {
          throw new IllegalArgumentException("envelope kind: " + kind);
        }
        long seq = 0;
        long epoch = 0;
        if (sequenced(kinds[kind])) {
          seq = in.readLong();
          epoch = in.readLong();
        }
        String id = readString(in);
        String target = readString(in);
        String from = readNullable(in);
        String origin = readNullable(in);
        int length = in.readInt();
        if (length < 0 || length > in.available()) {
          throw new IllegalArgumentException("envelope payload length: " + length);
        }
        byte[] data = in.readNBytes(length);
        batch.add(switch (kinds[kind]) {
          case USER -> Envelope.toUser(id, target, from, data, origin);
          case TOPIC -> Envelope.toTopic(id, target, from, data, origin, seq, epoch);
          case SESSION -> Envelope.toSession(id, target, from, seq, epoch, data, origin);
          case TAKEOVER -> {
            if (length != 0) {
              throw new IllegalArgumentException("takeover envelope with a payload of " + length + " bytes");
            }
            yield Envelope.takeover(id, target, from, origin);
          }
        });
      }
      if (in.available() > 0) {
        throw new IllegalArgumentException("envelope batch: " + in.available() + " trailing bytes");
      }
      return batch;
    } catch (java.io.UTFDataFormatException malformed) {
      throw new IllegalArgumentException("envelope batch: malformed string (" + malformed.getMessage() + ")", malformed);
    } catch (IOException truncated) {
      throw new IllegalArgumentException("truncated envelope batch", truncated);
    }
  }

  private static boolean sequenced(Envelope.Kind kind) {
    return kind == Envelope.Kind.TOPIC || kind == Envelope.Kind.SESSION;
  }

  private static void writeNullable(DataOutputStream out, String value) throws IOException {
    out.writeBoolean(value != null);
    if (value != null) {
      out.writeUTF(value);
    }
  }

  private static String readNullable(DataInputStream in) throws IOException {
    return in.readBoolean() ? readString(in) : null;
  }

  /**
   * {@link DataInputStream#readUTF}, after checking that the bytes its length prefix declares are
   * there: readUTF allocates twice the declared length (bytes and chars) before reading, so a corrupt
   * prefix in a short body would otherwise cost 384 KiB.
   */
  private static String readString(DataInputStream in) throws IOException {
    in.mark(2);
    int length = in.readUnsignedShort();
    if (length > in.available()) {
      throw new IllegalArgumentException("envelope string length: " + length + " (expected: at most the "
          + in.available() + " bytes that follow)");
    }
    in.reset();
    return in.readUTF();
  }
}
