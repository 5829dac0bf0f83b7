package io.wsgateway.benchmarks.load;

import io.wsgateway.auth.JwtTokens;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reachability check for {@code benchmarks/fleet.sh}: connects one sender to each gateway instance and,
 * from every sender, sends to {@code --samples} random users held by each tool process (so every
 * instance is reached both locally and from every other instance), expecting an {@code ack} for each
 * and not an {@code error} (such as {@code user_offline}).
 *
 * <pre>
 * java -cp benchmarks.jar io.wsgateway.benchmarks.load.FleetCheck --urls ws://h:p1/ws,ws://h:p2/ws,...
 *     --user-prefixes f1-idle-,f2-idle-,... --users N [--samples 10] [--secret S] [--timeout S] [--seed L]
 * </pre>
 *
 * The i-th prefix names the users {@code <prefix>0 .. <prefix>(N-1)} held on the i-th instance. Exits 0
 * when every send was acked, 1 otherwise, 2 on bad arguments.
 */
public final class FleetCheck {

  private static final Pattern TYPE = Pattern.compile("\"type\"\\s*:\\s*\"([a-z_]+)\"");
  private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]*)\"");
  private static final Pattern CODE = Pattern.compile("\"code\"\\s*:\\s*\"([^\"]*)\"");

  private FleetCheck() {}

  /** One sender connection; collects welcome, acks and errors by id. */
  private static final class Sender implements WebSocket.Listener {
    final CountDownLatch welcomed = new CountDownLatch(1);
    final Map<String, String> outcomes = new ConcurrentHashMap<>();
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String frame = partial.toString();
        partial.setLength(0);
        Matcher type = TYPE.matcher(frame);
        if (type.find()) {
          Matcher id = ID.matcher(frame);
          String t = type.group(1);
          if (t.equals("welcome")) {
            welcomed.countDown();
          } else if ((t.equals("ack") || t.equals("error")) && id.find()) {
            Matcher code = CODE.matcher(frame);
            outcomes.put(id.group(1), t.equals("ack") ? "ack" : "error:" + (code.find() ? code.group(1) : frame));
          }
        }
      }
      ws.request(1);
      return null;
    }
  }

  public static void main(String[] argv) throws Exception {
    LoadTool.Args args = LoadTool.Args.parse(prepend(argv));
    String[] urls = args.string("urls", null).split(",");
    String[] prefixes = args.string("user-prefixes", null).split(",");
    if (urls.length != prefixes.length) {
      System.err.println("FleetCheck: --urls and --user-prefixes must have the same number of entries");
      System.exit(2);
    }
    int users = args.integer("users", 0);
    int samples = args.integer("samples", 10);
    long timeoutSeconds = args.integer("timeout", 30);
    Random random = new Random(Long.parseLong(args.string("seed", Long.toString(System.nanoTime()))));
    byte[] secret = args.secret();
    Instant exp = Instant.now().plusSeconds(3600);

    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(timeoutSeconds)).build();
    List<Sender> senders = new ArrayList<>();
    List<WebSocket> sockets = new ArrayList<>();
    for (int s = 0; s < urls.length; s++) {
      String token = JwtTokens.hs256(secret, "fleetcheck-" + (s + 1), Map.of(), exp);
      Sender sender = new Sender();
      WebSocket ws = http.newWebSocketBuilder()
          .buildAsync(URI.create(urls[s] + "?access_token=" + token), sender)
          .get(timeoutSeconds, TimeUnit.SECONDS);
      if (!sender.welcomed.await(timeoutSeconds, TimeUnit.SECONDS)) {
        System.out.println("fleetcheck: no welcome from " + urls[s]);
        System.exit(1);
      }
      senders.add(sender);
      sockets.add(ws);
    }

    // Every sender sends to `samples` random users of every target process.
    String[][][] ids = new String[urls.length][prefixes.length][samples];
    long t0 = System.nanoTime();
    for (int s = 0; s < urls.length; s++) {
      WebSocket ws = sockets.get(s);
      for (int k = 0; k < prefixes.length; k++) {
        for (int j = 0; j < samples; j++) {
          String id = "s" + (s + 1) + "-t" + (k + 1) + "-" + j;
          ids[s][k][j] = id;
          String to = prefixes[k] + random.nextInt(users);
          String frame = "{\"type\":\"send\",\"to\":\"" + to + "\",\"data\":1,\"id\":\"" + id + "\"}";
          ws.sendText(frame, true).get(timeoutSeconds, TimeUnit.SECONDS);
        }
      }
    }
    int total = urls.length * prefixes.length * samples;
    LoadTool.await(() -> senders.stream().mapToInt(x -> x.outcomes.size()).sum() >= total, timeoutSeconds * 1000L);
    double ms = (System.nanoTime() - t0) / 1e6;

    int acked = 0;
    int failed = 0;
    StringBuilder matrix = new StringBuilder();
    for (int s = 0; s < urls.length; s++) {
      matrix.append(String.format(Locale.ROOT, "fleetcheck: sender on instance %d acks per target instance:", s + 1));
      for (int k = 0; k < prefixes.length; k++) {
        int ok = 0;
        for (String id : ids[s][k]) {
          String outcome = senders.get(s).outcomes.get(id);
          if ("ack".equals(outcome)) {
            ok++;
          } else {
            failed++;
            if (failed <= 10) {
              System.out.println("fleetcheck: " + id + " -> " + (outcome == null ? "no answer" : outcome));
            }
          }
        }
        acked += ok;
        matrix.append(' ').append(ok).append('/').append(samples);
      }
      matrix.append('\n');
    }
    System.out.print(matrix);
    System.out.printf(Locale.ROOT, "fleetcheck: sends=%d acked=%d failed=%d in %.0f ms (%d senders x %d targets x %d users)%n",
        total, acked, failed, ms, urls.length, prefixes.length, samples);
    for (WebSocket ws : sockets) {
      ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").exceptionally(e -> null);
    }
    System.out.println("fleetcheck: " + (failed == 0 ? "PASS" : "FAIL"));
    System.exit(failed == 0 ? 0 : 1);
  }

  /** {@link LoadTool.Args#parse} skips argv[0] (the scenario name). */
  private static String[] prepend(String[] argv) {
    String[] out = new String[argv.length + 1];
    out[0] = "fleetcheck";
    System.arraycopy(argv, 0, out, 1, argv.length);
    return out;
  }
}
