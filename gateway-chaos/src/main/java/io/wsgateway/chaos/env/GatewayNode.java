package io.wsgateway.chaos.env;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One example gateway in a JVM of its own ({@code java -jar gateway-example.jar}), on a fixed port and
 * admin port so that it can be restarted, or replaced by a new instance id, behind the same HAProxy
 * server line. Thread-safe (every method that touches the process is synchronized); blocking.
 */
public final class GatewayNode implements AutoCloseable {

  /** Gateway JVM flags: small heap, cheap GC and JIT, since three gateways share 2 cores with the rest. */
  public static final List<String> DEFAULT_JVM_FLAGS = List.of("-Xmx256m", "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1");

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(1)).build();

  private final Path jar;
  private final List<String> jvmFlags;
  private final Map<String, String> env;
  private final Path logDir;
  private final int port;
  private final int adminPort;
  private String instanceId;
  private Process process;

  /**
   * @param env the example's variables shared by the fleet ({@code GATEWAY_REDIS_URI}, ...); port, admin
   *     port and instance id are set per node
   */
  public GatewayNode(Path jar, List<String> jvmFlags, Map<String, String> env, Path logDir, int port, int adminPort) {
    this.jar = jar;
    this.jvmFlags = List.copyOf(jvmFlags);
    this.env = Map.copyOf(env);
    this.logDir = logDir;
    this.port = port;
    this.adminPort = adminPort;
  }

  public int port() {
    return port;
  }

  /** The instance id of the current (or last) process. */
  public synchronized String instanceId() {
    return instanceId;
  }

  /** The log file of {@code id}. */
  public Path log(String id) {
    return logDir.resolve(id + ".log");
  }

  /** Whether the process is alive. */
  public synchronized boolean alive() {
    return process != null && process.isAlive();
  }

  /**
   * Starts the process as {@code id} and waits until {@code /ready} answers 200.
   *
   * @throws IOException if it exits first (the log's tail says why) or is not ready within {@code timeout}
   */
  public void start(String id, Duration timeout) throws IOException {
    Process p;
    synchronized (this) {
      if (process != null && process.isAlive()) {
        throw new IllegalStateException(instanceId + " is still running on " + port);
      }
      instanceId = id;
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(jvmFlags);
      command.add("-jar");
      command.add(jar.toString());
      Path log = log(id);
      Files.writeString(log, "---- chaos: starting " + id + " at " + Instant.now() + "\n", StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      Map<String, String> e = new HashMap<>(env);
      e.put("GATEWAY_PORT", Integer.toString(port));
      e.put("GATEWAY_ADMIN_PORT", Integer.toString(adminPort));
      e.put("GATEWAY_INSTANCE_ID", id);
      pb.environment().putAll(e);
      pb.directory(new File(System.getProperty("java.io.tmpdir")));
      process = pb.start();
      p = process;
    }
    boolean ready = Poll.until(timeout, Duration.ofMillis(200), () -> !p.isAlive() || ready());
    if (!p.isAlive()) {
      throw new IOException(id + " exited with " + p.exitValue() + " while starting; log tail:\n"
          + Processes.tail(log(id), 15));
    }
    if (!ready) {
      throw new IOException(id + " not ready within " + timeout + "; log tail:\n" + Processes.tail(log(id), 15));
    }
  }

  /** Whether {@code GET /ready} on the gateway port answers 200 now. */
  public boolean ready() {
    return get(port, "/ready") == 200;
  }

  /** The {@code state} of {@code GET /admin/state}, or {@code null} if it does not answer. */
  public String adminState() {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
          + "/admin/state")).timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return null;
      }
      int at = r.body().indexOf("\"state\":\"");
      return at < 0 ? null : r.body().substring(at + 9, r.body().indexOf('"', at + 9));
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** {@code POST /admin/drain}; returns the HTTP status (202 when the drain started), or -1. */
  public int postDrain() {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/admin/drain"))
          .timeout(Duration.ofSeconds(5)).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /**
   * SIGTERM (the example drains, closes and exits) and waits up to {@code timeout} for the exit.
   * Returns the exit code; after the timeout it kills the process and returns -1.
   */
  public int terminate(Duration timeout) throws InterruptedException {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p == null) {
      return -1;
    }
    p.destroy();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      return -1;
    }
    return p.exitValue();
  }

  /** kill -9, and wait for the exit. */
  public void kill() throws InterruptedException {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p != null) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }

  private static int get(int port, String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(1)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }
}
