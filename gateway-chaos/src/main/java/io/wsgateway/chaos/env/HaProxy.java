package io.wsgateway.chaos.env;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The run's HAProxy: one frontend on a loopback port, the fleet's slots as servers with health checks
 * on {@code /ready} (so a draining or dead gateway leaves rotation within about a second), leastconn
 * as docs/operations.md recommends. Config generated per run. Not thread-safe; started and stopped by
 * the run.
 */
public final class HaProxy implements AutoCloseable {

  private final String command;
  private final Path dir;
  private final int port;
  private Process process;

  public HaProxy(String command, Path dir, int port) {
    this.command = command;
    this.dir = dir;
    this.port = port;
  }

  public int port() {
    return port;
  }

  /** The configuration for servers on {@code serverPorts}. */
  static String config(int port, List<Integer> serverPorts) {
    StringBuilder cfg = new StringBuilder()
        .append("global\n  maxconn 4000\n")
        .append("defaults\n  mode http\n  timeout connect 2s\n  timeout client 90s\n  timeout server 90s\n")
        .append("  timeout tunnel 1h\n  option http-server-close\n  retries 2\n  option redispatch\n")
        .append("frontend ws\n  bind 127.0.0.1:").append(port).append("\n  default_backend gateways\n")
        .append("backend gateways\n  balance leastconn\n  option httpchk GET /ready\n")
        .append("  http-check expect status 200\n  default-server inter 500ms fall 1 rise 1\n")
        // A check times out after "inter" unless told; a busy survivor may take longer: all down, all 503.
        .append("  timeout check 2s\n");
    for (int i = 0; i < serverPorts.size(); i++) {
      cfg.append("  server slot").append(i + 1).append(" 127.0.0.1:").append(serverPorts.get(i)).append(" check\n");
    }
    return cfg.toString();
  }

  /** Writes the configuration and starts HAProxy in the foreground ({@code -db}) as a child process. */
  public void start(List<Integer> serverPorts) throws IOException {
    Path cfg = dir.resolve("haproxy.cfg");
    Files.writeString(cfg, config(port, serverPorts), StandardCharsets.UTF_8);
    process = new ProcessBuilder(command, "-f", cfg.toString(), "-db").redirectErrorStream(true)
        .redirectOutput(dir.resolve("haproxy.log").toFile()).start();
    Process p = process;
    boolean up = Poll.until(Duration.ofSeconds(20), Duration.ofMillis(200), () -> !p.isAlive() || routes());
    if (!p.isAlive()) {
      throw new IOException("haproxy exited with " + p.exitValue() + ": " + Processes.tail(dir.resolve("haproxy.log"), 10));
    }
    if (!up) {
      throw new IOException("haproxy did not route /ready to a gateway within 20 s");
    }
  }

  private boolean routes() {
    try {
      java.net.http.HttpClient c = java.net.http.HttpClient.newBuilder()
          .version(java.net.http.HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(1)).build();
      return c.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/ready"))
          .timeout(Duration.ofSeconds(2)).build(), java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
