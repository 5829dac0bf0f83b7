package io.wsgateway.chaos.env;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Small helpers for the run's child processes: signals, bounded commands, log tails. */
public final class Processes {

  private Processes() {}

  /** Sends {@code signal} (e.g. {@code STOP}, {@code CONT}, {@code TERM}) to {@code pid} with kill(1). */
  public static void signal(long pid, String signal) throws IOException {
    Result r = run(Duration.ofSeconds(10), List.of("kill", "-" + signal, Long.toString(pid)));
    if (r.exit() != 0) {
      throw new IOException("kill -" + signal + " " + pid + " exited " + r.exit() + ": " + r.output().strip());
    }
  }

  /** The exit code and the merged output of a command. */
  public record Result(int exit, String output) {}

  /** Runs a command to completion, killing it after {@code timeout}. */
  public static Result run(Duration timeout, List<String> command) throws IOException {
    Path out = Files.createTempFile("chaos-cmd", ".out");
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      boolean done;
      try {
        done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted: " + command, e);
      }
      if (!done) {
        p.destroyForcibly();
        throw new IOException(command + " did not finish within " + timeout);
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** The last {@code lines} lines of a log file, or a note that it cannot be read. */
  public static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", new ArrayList<>(all.subList(Math.max(0, all.size() - lines), all.size())));
    } catch (IOException | java.io.UncheckedIOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }
}
