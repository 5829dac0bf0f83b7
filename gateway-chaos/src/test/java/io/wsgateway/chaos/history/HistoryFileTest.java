package io.wsgateway.chaos.history;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("A history file")
class HistoryFileTest {

  @Test
  @DisplayName("reads back every kind of event as written")
  void roundTrip(@TempDir Path dir) throws Exception {
    List<Event> events = List.of(
        new Event.Phase(1, "traffic", "30 clients"),
        new Event.Invoke(2, "d.u1.u2.1", StreamKind.DIRECT, "u1", "u2", 1, "g1"),
        new Event.Complete(3, "d.u1.u2.1", Outcome.ACKED, null),
        new Event.Deliver(4, "u2", "s", 7, "d.u1.u2.1", StreamKind.DIRECT, "u1", "u2", 1, "g2", null),
        new Event.Deliver(5, "u2", "s", 8, null, null, null, null, 0, null, "{\"odd\":true}"),
        new Event.Subscribed(6, "u2", "room"),
        new Event.Connected(7, "u2", "s", true, "g2"),
        new Event.Disconnected(8, "u2", "connection_lost: 1006"),
        new Event.LossSignal(9, "u2", "resume_failed", "unknown_session", "s", true),
        new Event.ClientError(10, "u2", "connect_failed", "refused"),
        new Event.FaultStarted(11, 0, "REDIS_PAUSE", "redis", "3s"),
        new Event.FaultEnded(12, 0, "REDIS_PAUSE", "redis", "", true));
    Path file = dir.resolve("history.jsonl");
    HistoryFile.write(events, file);
    assertEquals(events, HistoryFile.read(file));
  }
}
