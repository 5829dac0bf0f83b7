package io.wsgateway.broker;

import java.lang.management.ManagementFactory;

/**
 * What the fuzz tests of this package check beside their own properties: that a call allocates no
 * more than a bound derived from its input, so a length an input declares cannot make it allocate
 * memory the input does not back.
 */
final class FuzzChecks {

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private FuzzChecks() {}

  /** Bytes allocated so far by the calling thread, or -1 if the JVM does not say. */
  static long allocated() {
    return THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled()
        ? THREADS.getThreadAllocatedBytes(Thread.currentThread().getId())
        : -1;
  }

  /**
   * Fails if the calling thread allocated more than {@code bound} bytes since {@code before} (a value
   * of {@link #allocated()}).
   */
  static void assertAllocatedAtMost(long before, long bound, String what) {
    if (before < 0) {
      return;
    }
    long used = allocated() - before;
    if (used > bound) {
      throw new AssertionError(what + " allocated " + used + " bytes (bound: " + bound + ")");
    }
  }
}
