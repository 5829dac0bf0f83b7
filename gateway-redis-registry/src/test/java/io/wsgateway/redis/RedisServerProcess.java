package io.wsgateway.redis;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import io.wsgateway.testkit.Await;

/**
 * A private {@code redis-server} on a port of its own, without persistence, that a test may stop
 * and start again (empty) to stage an outage. Never touches the shared Redis.
 */
final class RedisServerProcess implements AutoCloseable {

  final int port;
  private Process process;

  RedisServerProcess(int port) {
    this.port = port;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  String uri() {
    return "redis://127.0.0.1:" + port;
  }

  void start() throws IOException {
    process = new ProcessBuilder("redis-server", "--port", Integer.toString(port),
        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
        .redirectErrorStream(true)
        .redirectOutput(new File("target/redis-server-" + port + ".log"))
        .start();
    Await.until(Duration.ofSeconds(10), "redis-server on port " + port + " accepts connections",
        this::accepts, Boolean::booleanValue);
  }

  void stop() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor();
      process = null;
    }
  }

  private boolean accepts() {
    if (process != null && !process.isAlive()) {
      throw new IllegalStateException("redis-server exited: " + process.exitValue());
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
