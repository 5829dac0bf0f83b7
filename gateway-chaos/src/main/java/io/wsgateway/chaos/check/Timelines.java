package io.wsgateway.chaos.check;

import io.wsgateway.chaos.history.Event;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A history indexed for checking: operations by id, and per user the connections, loss signals,
 * subscriptions and deliveries, each in time order. Built once per check; not thread-safe.
 */
final class Timelines {

  final List<Event> events;
  final Map<String, Event.Invoke> invokes = new LinkedHashMap<>();
  final Map<String, Event.Complete> completes = new HashMap<>();
  final Map<String, User> users = new TreeMap<>();
  final List<FaultSpan> faults = new ArrayList<>();
  /** The time of the last event: where open connections and faults end. */
  final long end;

  /** A fault from its start to its end (or the end of the history). */
  record FaultSpan(int index, String kind, String target, String detail, long start, long end, boolean ok,
      String endDetail) {}

  /** One connection of a user's client: welcome to the end of the connected state. */
  record Conn(String session, String instance, boolean resumed, long from, long to) {}

  /** The harness's subscription to a topic became active, or was lost with the session, at {@code at}. */
  record SubChange(long at, boolean active) {}

  /** What one user saw. */
  static final class User {
    final String name;
    final List<Conn> conns = new ArrayList<>();
    final List<Event.LossSignal> signals = new ArrayList<>();
    /** Per topic, the times the subscription became active (true) or was lost (false), in order. */
    final Map<String, List<SubChange>> subs = new HashMap<>();
    final List<Event.Deliver> deliveries = new ArrayList<>();
    final Map<String, List<Event.Deliver>> byId = new HashMap<>();
    /** Connection, loss and error events, for the report. */
    final List<Event> story = new ArrayList<>();
    private Event.Connected open;

    User(String name) {
      this.name = name;
    }

    /**
     * How long, within {@code [from, to)}, the client was connected with {@code session} (any session
     * if {@code null}): the time it had to receive a message.
     */
    long connectedNanos(String session, long from, long to) {
      long sum = 0;
      for (Conn c : conns) {
        if (session != null && !session.equals(c.session())) {
          continue;
        }
        long a = Math.max(from, c.from());
        long b = Math.min(to, c.to());
        if (b > a) {
          sum += b - a;
        }
      }
      return sum;
    }

    /** Whether the harness's subscription of this user to {@code topic} was in force at {@code at}. */
    boolean subscribedAt(String topic, long at) {
      List<SubChange> changes = subs.get(topic);
      if (changes == null) {
        return false;
      }
      boolean active = false;
      for (SubChange c : changes) {
        if (c.at() >= at) {
          break;
        }
        active = c.active();
      }
      return active;
    }

    boolean everSubscribed(String topic) {
      return subs.containsKey(topic);
    }
  }

  Timelines(List<Event> history) {
    List<Event> sorted = new ArrayList<>(history);
    sorted.sort(Comparator.comparingLong(Event::at)); // stable: same-time events keep their order
    this.events = sorted;
    this.end = sorted.isEmpty() ? 0 : sorted.get(sorted.size() - 1).at();
    Map<Integer, Event.FaultStarted> openFaults = new LinkedHashMap<>();
    for (Event e : sorted) {
      if (e instanceof Event.Invoke i) {
        invokes.putIfAbsent(i.id(), i);
      } else if (e instanceof Event.Complete c) {
        completes.putIfAbsent(c.id(), c);
      } else if (e instanceof Event.Deliver d) {
        User u = user(d.user());
        u.deliveries.add(d);
        if (d.id() != null) {
          u.byId.computeIfAbsent(d.id(), k -> new ArrayList<>(1)).add(d);
        }
      } else if (e instanceof Event.Connected c) {
        User u = user(c.user());
        closeConn(u, c.at());
        u.open = c;
        u.story.add(c);
      } else if (e instanceof Event.Disconnected d) {
        User u = user(d.user());
        closeConn(u, d.at());
        u.story.add(d);
      } else if (e instanceof Event.LossSignal s) {
        User u = user(s.user());
        u.signals.add(s);
        u.story.add(s);
        if (s.sessionReset()) {
          for (List<SubChange> changes : u.subs.values()) {
            changes.add(new SubChange(s.at(), false));
          }
        }
      } else if (e instanceof Event.Subscribed s) {
        user(s.user()).subs.computeIfAbsent(s.topic(), k -> new ArrayList<>()).add(new SubChange(s.at(), true));
      } else if (e instanceof Event.ClientError c) {
        user(c.user()).story.add(c);
      } else if (e instanceof Event.FaultStarted f) {
        openFaults.put(f.fault(), f);
      } else if (e instanceof Event.FaultEnded f) {
        Event.FaultStarted s = openFaults.remove(f.fault());
        if (s != null) {
          faults.add(new FaultSpan(s.fault(), s.kind(), s.target(), s.detail(), s.at(), f.at(), f.ok(), f.detail()));
        }
      }
    }
    for (User u : users.values()) {
      closeConn(u, end);
    }
    for (Event.FaultStarted s : openFaults.values()) {
      faults.add(new FaultSpan(s.fault(), s.kind(), s.target(), s.detail(), s.at(), end, false, "did not end"));
    }
    faults.sort(Comparator.comparingLong(FaultSpan::start));
  }

  User user(String name) {
    return users.computeIfAbsent(name, User::new);
  }

  private static void closeConn(User u, long at) {
    if (u.open != null) {
      u.conns.add(new Conn(u.open.session(), u.open.instance(), u.open.resumed(), u.open.at(), at));
      u.open = null;
    }
  }
}
