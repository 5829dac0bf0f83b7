package io.wsgateway.chaos.env;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

/** Picks loopback ports for the run's processes. Thread-safe. */
public final class Ports {

  private static final Set<Integer> handedOut = new HashSet<>(); // guarded by Ports.class

  private Ports() {}

  /**
   * A port free now, below Linux's ephemeral range (32768+): a gateway's or Redis's port must stay
   * free while the process is restarted, and an ephemeral one could meanwhile be taken by any outgoing
   * connection on the host. Never the same port twice in one JVM.
   */
  public static synchronized int stablePort() throws IOException {
    Random random = new Random();
    for (int tries = 0; tries < 200; tries++) {
      int port = 20_000 + random.nextInt(12_000);
      if (handedOut.contains(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress("127.0.0.1", port));
        handedOut.add(port);
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port in 20000..32000 after 200 tries");
  }
}
