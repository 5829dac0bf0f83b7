package io.wsgateway.netty.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class after which Netty reported a leaked buffer. Collects garbage and allocates a
 * few buffers so the detector polls its queue of collected, unreleased buffers.
 */
public final class LeakCheckExtension implements AfterAllCallback {

  @Override
  public void afterAll(ExtensionContext context) {
    for (int round = 0; round < 3; round++) {
      System.gc();
      List<ByteBuf> probes = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        probes.add(PooledByteBufAllocator.DEFAULT.buffer(64));
      }
      probes.forEach(ByteBuf::release);
    }
    if (!RecordingLeakDetector.LEAKS.isEmpty()) {
      List<String> leaks = List.copyOf(RecordingLeakDetector.LEAKS);
      RecordingLeakDetector.LEAKS.clear();
      throw new AssertionError("Netty reported " + leaks.size() + " leak(s) during " + context.getDisplayName()
          + ":\n" + String.join("\n", leaks));
    }
  }
}
