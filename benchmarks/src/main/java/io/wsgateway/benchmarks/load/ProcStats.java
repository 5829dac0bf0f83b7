package io.wsgateway.benchmarks.load;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Resident memory and CPU time of a process from /proc (Linux), and of this JVM from its MXBean. */
final class ProcStats {

  /** USER_HZ; 100 on every Linux the project targets (getconf CLK_TCK). */
  private static final long CLOCK_TICKS_PER_SECOND = 100;
  private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

  private ProcStats() {}

  /** VmRSS of {@code pid} in KiB, or -1 when unreadable. */
  static long rssKiB(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** utime + stime of {@code pid} in nanoseconds (10 ms resolution), or -1. */
  static long cpuNanos(long pid) {
    return cpuNanos(pid, true);
  }

  /** stime alone: the kernel's share (socket calls, epoll), in nanoseconds, or -1. */
  static long systemNanos(long pid) {
    return cpuNanos(pid, false);
  }

  private static long cpuNanos(long pid, boolean withUser) {
    if (pid <= 0) {
      return -1;
    }
    try {
      return ticks(Path.of("/proc/" + pid + "/stat"), withUser) * (1_000_000_000L / CLOCK_TICKS_PER_SECOND);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** stime, plus utime if {@code withUser}, in clock ticks, from a process's or thread's stat file. */
  private static long ticks(Path stat, boolean withUser) throws IOException {
    String text = Files.readString(stat);
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    String[] f = text.substring(text.lastIndexOf(')') + 2).split(" ");
    return (withUser ? Long.parseLong(f[11]) : 0) + Long.parseLong(f[12]);
  }

  /**
   * utime + stime of the JIT compiler threads of JVM {@code pid} ("C1 CompilerThre", "C2
   * CompilerThre" in /proc/PID/task/TID/comm), in nanoseconds (10 ms resolution), or -1: how much
   * compiling it did, which a warm-up waits to see end.
   */
  static long jitCpuNanos(long pid) {
    if (pid <= 0) {
      return -1;
    }
    long ticks = 0;
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          String comm = Files.readString(task.resolve("comm")).trim();
          if (!comm.startsWith("C1 Compiler") && !comm.startsWith("C2 Compiler")) {
            continue;
          }
          ticks += ticks(task.resolve("stat"), true);
        } catch (IOException | RuntimeException e) {
          // The thread ended between the listing and the read: it compiles nothing more.
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return ticks * (1_000_000_000L / CLOCK_TICKS_PER_SECOND);
  }

  /** CPU time of this JVM in nanoseconds. */
  static long selfCpuNanos() {
    var os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getProcessCpuTime();
    }
    return -1;
  }

  /** Runs a full GC in {@code pid} through jcmd and returns its used heap in KiB afterwards, or -1. */
  static long gcAndHeapUsedKiB(long pid) {
    try {
      run("jcmd", Long.toString(pid), "GC.run");
      String info = run("jcmd", Long.toString(pid), "GC.heap_info");
      Matcher m = HEAP_USED.matcher(info);
      return m.find() ? Long.parseLong(m.group(1)) : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroy();
    }
    return new String(out);
  }
}
