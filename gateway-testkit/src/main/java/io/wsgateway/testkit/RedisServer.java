package io.wsgateway.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A private {@code redis-server} for tests that stage Redis faults: loopback, no persistence (so a
 * restart comes back empty), and it can be killed, restarted and paused (SIGSTOP) while gateways use
 * it. It never touches a shared Redis. Needs {@code redis-server} and {@code kill} on the machine.
 *
 * <pre>{@code
 * try (RedisServer redis = RedisServer.startOnFreePort()) {
 *   ... RedisRegistryOptions.builder().uri(redis.uri()) ...
 *   redis.restartEmpty();
 * }
 * }</pre>
 *
 * <p>Thread-safe (every method is synchronized); whoever starts it closes it.
 */
public final class RedisServer implements AutoCloseable {

  private final String command;
  private final int port;
  private final Path log;
  private Process process;
  private boolean paused;

  /**
   * A server that {@link #start()} will run as {@code command} on {@code port}, logging to {@code log}
   * (appended).
   */
  public RedisServer(String command, int port, Path log) {
    this.command = command;
    this.port = port;
    this.log = log;
  }

  /**
   * Starts {@code redis-server} from the {@code PATH} on a free port, logging to {@code
   * target/redis-server-<port>.log}.
   */
  public static RedisServer startOnFreePort() throws IOException {
    int port = freePort();
    Path dir = Path.of("target");
    Files.createDirectories(dir);
    RedisServer server = new RedisServer("redis-server", port, dir.resolve("redis-server-" + port + ".log"));
    server.start();
    return server;
  }

  /** A TCP port free on loopback now. */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return port;
  }

  /** {@code redis://127.0.0.1:<port>}. */
  public String uri() {
    return "redis://127.0.0.1:" + port;
  }

  /** Starts it (empty) and waits up to 10 s until it accepts connections. */
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
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!accepts()) {
      if (!process.isAlive()) {
        throw new IOException("redis-server exited with " + process.exitValue() + "; see " + log);
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("redis-server on port " + port + " did not accept connections within 10 s");
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
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

  /** Kills it and starts an empty one on the same port, as a restart without persistence does. */
  public synchronized void restartEmpty() throws IOException, InterruptedException {
    kill();
    start();
  }

  /** SIGSTOP: connections stay open, nothing is answered. */
  public synchronized void pause() throws IOException, InterruptedException {
    if (process == null || !process.isAlive()) {
      throw new IOException("redis-server is not running");
    }
    signal("STOP");
    paused = true;
  }

  /** SIGCONT after {@link #pause()}; a no-op otherwise. */
  public synchronized void resume() throws IOException, InterruptedException {
    if (paused && process != null && process.isAlive()) {
      signal("CONT");
    }
    paused = false;
  }

  /** Whether it runs (paused or not). */
  public synchronized boolean running() {
    return process != null && process.isAlive();
  }

  private void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IOException("kill -" + signal + " " + process.pid() + " failed");
    }
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
