package io.wsgateway.examples.cluster;

import io.wsgateway.netty.testing.Await;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;

/**
 * A private {@code redis-server} on a free port, without persistence, that a test may restart empty
 * or pause (SIGSTOP) to stage a fault. Never touches the machine's shared Redis.
 */
final class PrivateRedis implements AutoCloseable {

  final int port;
  private Process process;

  PrivateRedis() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      this.port = s.getLocalPort();
    }
    start();
  }

  String uri() {
    return "redis://127.0.0.1:" + port;
  }

  void start() throws IOException {
    new File("target").mkdirs();
    process = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no")
        .redirectErrorStream(true)
        .redirectOutput(new File("target/redis-server-" + port + ".log"))
        .start();
    Await.until("redis-server on port " + port + " accepts connections", this::accepts, Duration.ofSeconds(10));
  }

  /** Kills the server and starts an empty one on the same port, as a restart without persistence. */
  void restartEmpty() throws IOException, InterruptedException {
    stop();
    start();
  }

  /** Stops (SIGSTOP) or continues (SIGCONT) the server: it keeps its data and its connections. */
  void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IllegalStateException("kill -" + signal + " failed");
    }
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
