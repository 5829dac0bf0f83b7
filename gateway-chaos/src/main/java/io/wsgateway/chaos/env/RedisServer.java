package io.wsgateway.chaos.env;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The run's private {@code redis-server}: loopback, no persistence, so a restart comes back empty. It
 * can be killed, restarted and paused (SIGSTOP) to stage outages; it never touches the shared Redis.
 * Thread-safe (every method is synchronized); whoever starts it stops it.
 */
public final class RedisServer implements AutoCloseable {

  private final String command;
  private final int port;
  private final Path log;
  private Process process;
  private boolean paused;

  public RedisServer(String command, int port, Path log) {
    this.command = command;
    this.port = port;
    this.log = log;
  }

  public int port() {
    return port;
  }

  public String uri() {
    return "redis://127.0.0.1:" + port;
  }

  /** Starts it (empty) and waits until it accepts connections. */
  public synchronized void start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("redis-server on " + port + " is already running");
    }
    process = new ProcessBuilder(command, "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no")
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    paused = false;
    Process p = process;
    boolean up = Poll.until(Duration.ofSeconds(10), Duration.ofMillis(50), () -> !p.isAlive() || accepts());
    if (!p.isAlive()) {
      throw new IOException("redis-server exited with " + p.exitValue() + ": " + Processes.tail(log, 5));
    }
    if (!up) {
      throw new IOException("redis-server on port " + port + " did not accept connections within 10 s");
    }
  }

  /** kill -9 (a paused server dies too). */
  public synchronized void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      process = null;
    }
    paused = false;
  }

  /** SIGSTOP: connections stay open, nothing is answered. */
  public synchronized void pause() throws IOException {
    if (process == null || !process.isAlive()) {
      throw new IOException("redis-server is not running");
    }
    Processes.signal(process.pid(), "STOP");
    paused = true;
  }

  /** SIGCONT after {@link #pause()}; a no-op otherwise. */
  public synchronized void resume() throws IOException {
    if (paused && process != null && process.isAlive()) {
      Processes.signal(process.pid(), "CONT");
    }
    paused = false;
  }

  /** Whether it runs (paused or not). */
  public synchronized boolean running() {
    return process != null && process.isAlive();
  }

  private boolean accepts() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public synchronized void close() throws InterruptedException {
    kill();
  }
}
