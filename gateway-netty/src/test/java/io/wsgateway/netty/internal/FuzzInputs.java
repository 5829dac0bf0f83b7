package io.wsgateway.netty.internal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Random inputs for the fuzz tests' short, non-guided pass: valid seeds, mutated byte by byte, spliced
 * together, or salted with tokens that parsers trip on. Deterministic for a given {@link Random}.
 */
final class FuzzInputs {

  /** How many inputs the short pass tries: {@code -Dwsgateway.fuzz.iterations=N} runs longer. */
  static long iterations() {
    return Long.getLong("wsgateway.fuzz.iterations", 20_000L);
  }

  /** The random seed of a pass: {@code -Dwsgateway.fuzz.seed=S} replays one that failed. */
  static long seed() {
    return Long.getLong("wsgateway.fuzz.seed", System.nanoTime());
  }

  private static final List<byte[]> TOKENS = List.of(
      bytes("\u0000"), bytes("\""), bytes("\\"), bytes("\\u"), bytes("\\uD800"), bytes("{"), bytes("}"),
      bytes("["), bytes("]"), bytes(","), bytes(":"), bytes("null"), bytes("true"), bytes("-0"), bytes("1e999999"),
      bytes("12345678901234567890123456789"), bytes("\"type\":"), bytes("\"id\":"), bytes("\"data\":"),
      bytes("\"topic\":"), bytes("%"), bytes("%00"), bytes("%zz"), bytes("&"), bytes("="), bytes("?"), bytes("#"),
      bytes("\r\n"), bytes(" "), new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, new byte[] {0, 0, 0},
      bytes("é"), bytes("\uD83D\uDE00"), bytes("/*"), bytes("'"));

  private FuzzInputs() {}

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** One input: a seed, changed one to eight times. */
  static byte[] next(Random r, List<byte[]> seeds) {
    byte[] in = seeds.get(r.nextInt(seeds.size()));
    int rounds = 1 + r.nextInt(8);
    for (int i = 0; i < rounds; i++) {
      in = mutate(r, in, seeds);
    }
    return in;
  }

  private static byte[] mutate(Random r, byte[] in, List<byte[]> seeds) {
    int at = in.length == 0 ? 0 : r.nextInt(in.length + 1);
    switch (r.nextInt(7)) {
      case 0 -> { // flip a byte
        if (in.length == 0) {
          return new byte[] {(byte) r.nextInt(256)};
        }
        byte[] out = in.clone();
        out[Math.min(at, in.length - 1)] = (byte) r.nextInt(256);
        return out;
      }
      case 1 -> { // insert a random ASCII byte
        return insert(in, at, new byte[] {(byte) (0x20 + r.nextInt(0x5F))});
      }
      case 2 -> { // delete a run
        int len = Math.min(in.length - at, 1 + r.nextInt(8));
        byte[] out = new byte[in.length - len];
        System.arraycopy(in, 0, out, 0, at);
        System.arraycopy(in, at + len, out, at, in.length - at - len);
        return out;
      }
      case 3 -> { // duplicate a run
        int len = Math.min(in.length - at, 1 + r.nextInt(16));
        return insert(in, at, Arrays.copyOfRange(in, at, at + len));
      }
      case 4 -> { // splice another seed's tail
        byte[] other = seeds.get(r.nextInt(seeds.size()));
        int from = other.length == 0 ? 0 : r.nextInt(other.length);
        byte[] out = Arrays.copyOf(in, at + other.length - from);
        System.arraycopy(other, from, out, at, other.length - from);
        return out;
      }
      case 5 -> { // truncate
        return Arrays.copyOf(in, at);
      }
      default -> { // insert a token parsers trip on
        return insert(in, at, TOKENS.get(r.nextInt(TOKENS.size())));
      }
    }
  }

  private static byte[] insert(byte[] in, int at, byte[] what) {
    byte[] out = new byte[in.length + what.length];
    System.arraycopy(in, 0, out, 0, at);
    System.arraycopy(what, 0, out, at, what.length);
    System.arraycopy(in, at, out, at + what.length, in.length - at);
    return out;
  }

  /** The input as Java source of a byte array, for a regression test. */
  static String describe(byte[] input) {
    StringBuilder b = new StringBuilder("\"");
    for (byte x : input) {
      int c = x & 0xFF;
      if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
        b.append((char) c);
      } else {
        b.append(String.format("\\x%02x", c));
      }
    }
    return b.append('"').toString();
  }
}
