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
 * <p>Format: a version byte, an envelope count, then per envelope its fields as modified UTF-8
 * strings (absent ones as a zero flag) and the payload length-prefixed. Batching many envelopes for
 * one destination into one broker message is what makes a broker fast under load, so the format is a
 * batch from the start. Stateless and thread-safe.
 */
public final class EnvelopeCodec {

  private static final byte VERSION = 1;

  /** The largest batch {@link #decode} accepts, to bound memory against a corrupt message. */
  public static final int MAX_BATCH = 65_536;

  private EnvelopeCodec() {}

  /** Encodes a non-empty batch. */
  public static byte[] encode(List<Envelope> batch) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("batch: empty (expected: at least one envelope)");
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
   * Decodes a batch produced by {@link #encode}.
   *
   * @throws IllegalArgumentException if the bytes are not such a batch
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
      List<Envelope> batch = new ArrayList<>(count);
      Envelope.Kind[] kinds = Envelope.Kind.values();
      for (int i = 0; i < count; i++) {
        int kind = in.readUnsignedByte();
        if (kind >= kinds.length) {
          throw new IllegalArgumentException("envelope kind: " + kind);
        }
        String id = in.readUTF();
        String target = in.readUTF();
        String from = readNullable(in);
        String origin = readNullable(in);
        int length = in.readInt();
        if (length < 0 || length > in.available()) {
          throw new IllegalArgumentException("envelope payload length: " + length);
        }
        byte[] data = in.readNBytes(length);
        batch.add(switch (kinds[kind]) {
          case USER -> Envelope.toUser(id, target, from, data, origin);
          case TOPIC -> Envelope.toTopic(id, target, from, data, origin);
          case SESSION -> Envelope.toSession(id, target, from, data, origin);
        });
      }
      return batch;
    } catch (IOException truncated) {
      throw new IllegalArgumentException("truncated envelope batch", truncated);
    }
  }

  private static void writeNullable(DataOutputStream out, String value) throws IOException {
    out.writeBoolean(value != null);
    if (value != null) {
      out.writeUTF(value);
    }
  }

  private static String readNullable(DataInputStream in) throws IOException {
    return in.readBoolean() ? in.readUTF() : null;
  }
}
