package io.wsgateway.netty.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client over a plain socket, for tests that must send what well-behaved clients never
 * do: broken handshakes, invalid UTF-8, oversized frames, no pongs, no reads. Not thread-safe.
 */
public final class RawWebSocket implements AutoCloseable {

  public static final int TEXT = 0x1;
  public static final int BINARY = 0x2;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;
  public static final int PONG = 0xA;

  /** An HTTP response to a handshake: status, headers (lower-case names) and body. */
  public record HttpResult(int status, Map<String, String> headers, String body) {}

  /**
   * One frame read from the server, as it was on the wire: {@code compressed} is the RSV1 bit
   * (permessage-deflate), and then {@code payload} is still deflated (see {@link #inflated()}).
   */
  public record Frame(int opcode, byte[] payload, boolean fin, boolean compressed) {
    public Frame(int opcode, byte[] payload) {
      this(opcode, payload, true, false);
    }

    /**
     * The payload of a permessage-deflate frame (RFC 7692 section 7.2.2) inflated, or the payload
     * itself when the frame is not compressed. Without context takeover each message inflates alone.
     */
    public byte[] inflated() {
      if (!compressed) {
        return payload;
      }
      java.util.zip.Inflater inflater = new java.util.zip.Inflater(true);
      try {
        byte[] input = java.util.Arrays.copyOf(payload, payload.length + 4);
        input[payload.length + 2] = (byte) 0xFF;
        input[payload.length + 3] = (byte) 0xFF;
        inflater.setInput(input);
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length * 4);
        byte[] chunk = new byte[8192];
        while (!inflater.needsInput()) {
          int n = inflater.inflate(chunk);
          out.write(chunk, 0, n);
          if (n == 0 && (inflater.finished() || inflater.needsDictionary())) {
            break;
          }
        }
        return out.toByteArray();
      } catch (java.util.zip.DataFormatException e) {
        throw new AssertionError("not a valid permessage-deflate payload", e);
      } finally {
        inflater.end();
      }
    }

    /** The text of the (inflated) payload. */
    public String text() {
      return new String(inflated(), StandardCharsets.UTF_8);
    }

    /** The close code of a close frame. */
    public int closeCode() {
      return payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : 1005;
    }
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private HttpResult handshake;

  private RawWebSocket(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  /**
   * Opens a socket and sends a handshake for {@code pathAndQuery} with extra headers.
   *
   * @param receiveBuffer the socket receive buffer in bytes, or 0 for the default; small values make
   *     a client that stops reading fill up fast
   */
  public static RawWebSocket open(int port, String pathAndQuery, Map<String, String> headers, int receiveBuffer)
      throws IOException {
    Socket socket = new Socket();
    if (receiveBuffer > 0) {
      socket.setReceiveBufferSize(receiveBuffer);
    }
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout((int) Await.DEFAULT_TIMEOUT.toMillis());
    RawWebSocket ws = new RawWebSocket(socket);
    ws.handshake = ws.sendHandshake(port, pathAndQuery, headers);
    return ws;
  }

  public static RawWebSocket open(int port, String pathAndQuery) throws IOException {
    return open(port, pathAndQuery, Map.of(), 0);
  }

  /** Sends a plain HTTP GET (no upgrade) and returns the response. */
  public static HttpResult get(int port, String pathAndQuery, Map<String, String> headers) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      socket.setSoTimeout((int) Await.DEFAULT_TIMEOUT.toMillis());
      RawWebSocket ws = new RawWebSocket(socket);
      StringBuilder req = new StringBuilder("GET " + pathAndQuery + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n");
      headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
      req.append("Connection: close\r\n\r\n");
      ws.out.write(req.toString().getBytes(StandardCharsets.US_ASCII));
      ws.out.flush();
      return ws.readResponse();
    }
  }

  private HttpResult sendHandshake(int port, String pathAndQuery, Map<String, String> headers) throws IOException {
    byte[] nonce = new byte[16];
    ThreadLocalRandom.current().nextBytes(nonce);
    StringBuilder req = new StringBuilder("GET " + pathAndQuery + " HTTP/1.1\r\n")
        .append("Host: 127.0.0.1:").append(port).append("\r\n")
        .append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
        .append("Sec-WebSocket-Key: ").append(Base64.getEncoder().encodeToString(nonce)).append("\r\n")
        .append("Sec-WebSocket-Version: 13\r\n");
    headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
    req.append("\r\n");
    out.write(req.toString().getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return readResponse();
  }

  private HttpResult readResponse() throws IOException {
    String statusLine = readLine();
    if (statusLine == null) {
      throw new IOException("connection closed before a response");
    }
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    String line;
    while ((line = readLine()) != null && !line.isEmpty()) {
      int colon = line.indexOf(':');
      headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
    }
    String body = "";
    if (status != 101 && headers.containsKey("content-length")) {
      byte[] bytes = new byte[Integer.parseInt(headers.get("content-length"))];
      in.readFully(bytes);
      body = new String(bytes, StandardCharsets.UTF_8);
    }
    return new HttpResult(status, headers, body);
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        String s = line.toString(StandardCharsets.US_ASCII);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.US_ASCII);
  }

  /** The response to the opening handshake. */
  public HttpResult handshake() {
    return handshake;
  }

  /** Sends one masked frame. */
  public void sendFrame(int opcode, byte[] payload, boolean fin) throws IOException {
    ByteArrayOutputStream frame = new ByteArrayOutputStream(payload.length + 14);
    frame.write((fin ? 0x80 : 0) | opcode);
    if (payload.length < 126) {
      frame.write(0x80 | payload.length);
    } else if (payload.length < 65536) {
      frame.write(0x80 | 126);
      frame.write(payload.length >>> 8);
      frame.write(payload.length & 0xFF);
    } else {
      frame.write(0x80 | 127);
      long len = payload.length;
      for (int i = 7; i >= 0; i--) {
        frame.write((int) (len >>> (8 * i)) & 0xFF);
      }
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    frame.write(mask);
    for (int i = 0; i < payload.length; i++) {
      frame.write(payload[i] ^ mask[i & 3]);
    }
    out.write(frame.toByteArray());
    out.flush();
  }

  /**
   * Sends {@code count} copies of one masked frame in one write (a flood without a syscall per frame).
   * Blocks while the socket's send buffer is full, i.e. while the server does not read.
   */
  public void sendRepeated(int opcode, byte[] payload, int count) throws IOException {
    if (payload.length >= 126) {
      throw new IllegalArgumentException("payload of " + payload.length + " bytes (expected: < 126)");
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    int size = 6 + payload.length;
    byte[] frames = new byte[size * count];
    for (int n = 0; n < count; n++) {
      int at = n * size;
      frames[at] = (byte) (0x80 | opcode);
      frames[at + 1] = (byte) (0x80 | payload.length);
      System.arraycopy(mask, 0, frames, at + 2, 4);
      for (int i = 0; i < payload.length; i++) {
        frames[at + 6 + i] = (byte) (payload[i] ^ mask[i & 3]);
      }
    }
    out.write(frames);
    out.flush();
  }

  public void sendText(String text) throws IOException {
    sendFrame(TEXT, text.getBytes(StandardCharsets.UTF_8), true);
  }

  /** Reads the next frame, or returns {@code null} when the server closed the socket. */
  public Frame readFrame() throws IOException {
    int b0 = in.read();
    if (b0 == -1) {
      return null;
    }
    int b1 = in.readUnsignedByte();
    long len = b1 & 0x7F;
    if (len == 126) {
      len = in.readUnsignedShort();
    } else if (len == 127) {
      len = in.readLong();
    }
    byte[] payload = new byte[(int) len];
    in.readFully(payload);
    return new Frame(b0 & 0x0F, payload, (b0 & 0x80) != 0, (b0 & 0x40) != 0);
  }

  /** Reads frames until a close frame and returns its code; fails if the socket ends first. */
  public int awaitCloseFrame() throws IOException {
    while (true) {
      Frame f = readFrame();
      if (f == null) {
        throw new AssertionError("socket closed without a close frame");
      }
      if (f.opcode() == CLOSE) {
        return f.closeCode();
      }
    }
  }

  /** Reads until the server closes the socket; returns whether it did within the read timeout. */
  public boolean awaitEndOfStream() throws IOException {
    try {
      InputStream raw = in;
      byte[] sink = new byte[8192];
      while (raw.read(sink) != -1) {
        // discard
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException reset) {
      return true;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
