package io.wsgateway.examples.rolling;

import io.wsgateway.netty.testing.Await;
import io.wsgateway.netty.testing.RawWebSocket;
import java.io.File;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** An example gateway in its own JVM, started from the test's class path and stopped by signal. */
final class GatewayProcess implements AutoCloseable {

  final String instanceId;
  final int port;
  private final Map<String, String> env;
  private final File log;
  private Process process;

  GatewayProcess(String instanceId, int port, Map<String, String> env, File logDir) {
    this.instanceId = instanceId;
    this.port = port;
    this.env = env;
    this.log = new File(logDir, instanceId + ".log");
  }

  void start() throws Exception {
    List<String> command = new ArrayList<>(List.of(
        System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Dorg.slf4j.simpleLogger.log.io.wsgateway.netty.internal=" + System.getProperty("rolling.log", "info"),
        "-cp", System.getProperty("java.class.path"), "io.wsgateway.examples.ExampleGateway"));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log));
    pb.environment().putAll(env);
    pb.environment().put("GATEWAY_PORT", Integer.toString(port));
    pb.environment().put("GATEWAY_INSTANCE_ID", instanceId);
    process = pb.start();
    Await.until(instanceId + " ready", () -> {
      if (!process.isAlive()) {
        throw new AssertionError(instanceId + " exited with " + process.exitValue() + "; see " + log);
      }
      try {
        return RawWebSocket.get(port, "/ready", Map.of()).status() == 200;
      } catch (Exception notYet) {
        return false;
      }
    }, Duration.ofSeconds(60));
  }

  /** SIGTERM: the example drains, then exits. Returns the exit code. */
  int terminate(Duration timeout) throws Exception {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(instanceId + " did not exit within " + timeout + " of SIGTERM; see " + log);
    }
    return process.exitValue();
  }

  /** SIGKILL: no drain at all. */
  void kill() throws Exception {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    if (process != null) {
      process.destroyForcibly();
    }
  }
}
