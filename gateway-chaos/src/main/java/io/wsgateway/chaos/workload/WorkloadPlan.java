package io.wsgateway.chaos.workload;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Who talks to whom, fixed by the seed: each user's peers (most on other instances, since HAProxy
 * spreads the clients), each topic's subscribers and publishers, and the order in which the backend
 * visits the users. Immutable.
 */
public final class WorkloadPlan {

  /** The topic name prefix; tokens allow {@value}{@code *}. */
  public static final String TOPIC_PREFIX = "chaos:";

  private final List<String> users;
  private final Map<String, List<String>> peers;
  private final Map<String, List<String>> subscribers;
  private final Map<String, List<String>> publishers;
  private final List<String> ingressOrder;

  private WorkloadPlan(List<String> users, Map<String, List<String>> peers, Map<String, List<String>> subscribers,
      Map<String, List<String>> publishers, List<String> ingressOrder) {
    this.users = List.copyOf(users);
    this.peers = Collections.unmodifiableMap(peers);
    this.subscribers = Collections.unmodifiableMap(subscribers);
    this.publishers = Collections.unmodifiableMap(publishers);
    this.ingressOrder = List.copyOf(ingressOrder);
  }

  /** The plan for {@code seed}. */
  public static WorkloadPlan generate(long seed, int clients, int peersPerClient, int topics, int subscribersPerTopic,
      int publishersPerTopic) {
    Random r = new Random(seed);
    List<String> users = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      users.add(user(i, clients));
    }
    Map<String, List<String>> peers = new LinkedHashMap<>();
    for (String u : users) {
      List<String> others = new ArrayList<>(users);
      others.remove(u);
      Collections.shuffle(others, r);
      peers.put(u, List.copyOf(others.subList(0, peersPerClient)));
    }
    Map<String, List<String>> subscribers = new LinkedHashMap<>();
    Map<String, List<String>> publishers = new LinkedHashMap<>();
    for (int t = 0; t < topics; t++) {
      String topic = TOPIC_PREFIX + t;
      List<String> shuffled = new ArrayList<>(users);
      Collections.shuffle(shuffled, r);
      subscribers.put(topic, sorted(shuffled.subList(0, subscribersPerTopic)));
      Collections.shuffle(shuffled, r);
      publishers.put(topic, sorted(shuffled.subList(0, publishersPerTopic)));
    }
    List<String> order = new ArrayList<>(users);
    Collections.shuffle(order, r);
    return new WorkloadPlan(users, peers, subscribers, publishers, order);
  }

  private static List<String> sorted(List<String> l) {
    List<String> copy = new ArrayList<>(l);
    Collections.sort(copy);
    return List.copyOf(copy);
  }

  /** The name of user {@code i}: {@code u00}, {@code u01}, ... (three digits from 100 clients). */
  public static String user(int i, int clients) {
    return String.format(Locale.ROOT, clients > 100 ? "u%03d" : "u%02d", i);
  }

  public List<String> users() {
    return users;
  }

  /** The users {@code user} sends to, in turn. */
  public List<String> peers(String user) {
    return peers.get(user);
  }

  /** Topic to its subscribers. */
  public Map<String, List<String>> subscribers() {
    return subscribers;
  }

  /** Topic to its publishers. */
  public Map<String, List<String>> publishers() {
    return publishers;
  }

  /** The users in the order the backend visits them, round after round. */
  public List<String> ingressOrder() {
    return ingressOrder;
  }

  /** A summary for the run's log. */
  public String render() {
    StringBuilder b = new StringBuilder("workload: " + users.size() + " users\n");
    peers.forEach((u, p) -> b.append("  ").append(u).append(" sends to ").append(p).append('\n'));
    subscribers.forEach((t, s) -> b.append("  ").append(t).append(" subscribers ").append(s).append(", publishers ")
        .append(publishers.get(t)).append('\n'));
    b.append("  backend visits ").append(ingressOrder).append('\n');
    return b.toString();
  }
}
