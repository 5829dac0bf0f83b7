package io.wsgateway.benchmarks;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The configuration every suite shares: one fork with a fixed 1 GiB heap, short warmup and
 * measurement, throughput in operations per second. Subclasses inherit these annotations (JMH reads
 * them from the class hierarchy) and override one only with a reason in a comment.
 *
 * <p>Override from the command line for a quick look ({@code -f 1 -wi 2 -i 3 -w 2s -r 2s}) or the
 * smoke run ({@code -f 0 -wi 0 -i 1 -r 200ms}); figures in docs/BENCHMARKS.md name the flags used.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-XX:-RestrictContended",
    // The gateway's own tests run the leak detector at paranoid; a benchmark must not pay for it.
    "-Dio.netty.leakDetection.level=disabled"})
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public abstract class AbstractBenchmark {

  /** Throws when a sanity check fails, so a broken path fails the run instead of looking fast. */
  protected static void check(boolean condition, String what) {
    if (!condition) {
      throw new IllegalStateException("benchmark sanity check failed: " + what);
    }
  }
}
