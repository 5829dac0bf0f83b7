package io.wsgateway.chaos.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("A fault plan")
class FaultPlanTest {

  static final FaultPlan.Spec CI = new FaultPlan.Spec(5_000, 80_000, 6_000, 30, 3, EnumSet.allOf(FaultKind.class));

  @Test
  @DisplayName("is the same for the same seed, and differs for another")
  void deterministic() {
    assertEquals(FaultPlan.generate(42, CI).faults(), FaultPlan.generate(42, CI).faults());
    assertEquals(FaultPlan.generate(42, CI).render(), FaultPlan.generate(42, CI).render());
    assertNotEquals(FaultPlan.generate(42, CI).faults(), FaultPlan.generate(43, CI).faults());
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {0, 1, 2, 3, 42, 1234567, -99, Long.MAX_VALUE})
  @DisplayName("has every kind at least once, in time order, numbered")
  void coversEveryKind(long seed) {
    List<Fault> faults = FaultPlan.generate(seed, CI).faults();
    Set<FaultKind> kinds = faults.stream().map(Fault::kind).collect(Collectors.toSet());
    assertEquals(EnumSet.allOf(FaultKind.class), kinds, FaultPlan.generate(seed, CI).render());
    for (int i = 0; i < faults.size(); i++) {
      assertEquals(i, faults.get(i).index());
      if (i > 0) {
        assertTrue(faults.get(i - 1).atMillis() <= faults.get(i).atMillis());
      }
      assertTrue(faults.get(i).atMillis() >= CI.startMillis());
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {0, 1, 2, 3, 42, 1234567, -99, Long.MAX_VALUE})
  @DisplayName("never plans every gateway out of service at once, nor two faults on one slot")
  void keepsAGatewayServing(long seed) {
    FaultPlan plan = FaultPlan.generate(seed, new FaultPlan.Spec(5_000, 600_000, 3_000, 30, 3,
        EnumSet.allOf(FaultKind.class)));
    List<long[]> busy = new ArrayList<>(); // slot, from, to
    for (Fault f : plan.faults()) {
      if (!f.kind().gateway()) {
        continue;
      }
      long occupation = switch (f.kind()) {
        case DRAIN_RESTART -> (f.variant().equals("admin") ? FaultPlan.ADMIN_DRAIN_ESTIMATE_MILLIS
            : FaultPlan.SIGTERM_DRAIN_ESTIMATE_MILLIS) + FaultPlan.START_ESTIMATE_MILLIS;
        case KILL_RESTART -> f.durationMillis() + FaultPlan.START_ESTIMATE_MILLIS;
        default -> f.variant().equals("none") ? Long.MAX_VALUE / 4 : f.durationMillis() + FaultPlan.START_ESTIMATE_MILLIS;
      };
      for (long[] b : busy) {
        if (b[0] == f.slot()) {
          assertTrue(f.atMillis() >= b[2], "two faults on slot " + f.slot() + ": " + f.describe());
        }
      }
      busy.add(new long[] {f.slot(), f.atMillis(), f.atMillis() + occupation});
      long at = f.atMillis();
      long down = busy.stream().filter(b -> b[1] <= at && at < b[2]).count();
      assertTrue(down < 3, "every slot out of service at " + at + "\n" + plan.render());
    }
  }

  @Test
  @DisplayName("limits itself to the kinds asked for")
  void onlyGivenKinds() {
    FaultPlan plan = FaultPlan.generate(7, new FaultPlan.Spec(0, 60_000, 2_000, 10, 3,
        EnumSet.of(FaultKind.REDIS_PAUSE, FaultKind.CLIENT_CUT)));
    assertTrue(plan.faults().stream().allMatch(f -> f.kind() == FaultKind.REDIS_PAUSE
        || f.kind() == FaultKind.CLIENT_CUT), plan.render());
    for (Fault f : plan.faults()) {
      if (f.kind() == FaultKind.REDIS_PAUSE) {
        assertTrue(f.durationMillis() > 1_000, "a pause must outlast the 1 s command timeout: " + f.describe());
      } else {
        assertTrue(!f.clients().isEmpty() && f.clients().stream().allMatch(c -> c >= 0 && c < 10), f.describe());
      }
    }
  }

  @Test
  @DisplayName("rejects a spec it cannot plan, naming the field")
  void validates() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new FaultPlan.Spec(5_000, 10_000, 1_000, 10, 3, EnumSet.allOf(FaultKind.class)));
    assertEquals("endMillis: 10000 (expected: >= startMillis + 10000)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new FaultPlan.Spec(0, 60_000, 1_000, 10, 1, EnumSet.allOf(FaultKind.class)));
    assertEquals("slots: 1 (expected: >= 2)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new FaultPlan.Spec(0, 60_000, 1_000, 10, 3, EnumSet.noneOf(FaultKind.class)));
    assertEquals("kinds: [] (expected: at least one)", e.getMessage());
  }

  @Test
  @DisplayName("describes a fault on one line")
  void describe() {
    Fault f = new Fault(3, 12_400, FaultKind.CLIENT_CUT, -1, List.of(), List.of(1, 4), 2_500, "stall");
    assertEquals("#03 at 12.400s CLIENT_CUT clients [1, 4] stall for 2.500s", f.describe());
    Fault k = new Fault(4, 1_000, FaultKind.KILL_RESTART, 1, List.of(), List.of(), 800, "");
    assertEquals("#04 at 1.000s KILL_RESTART slot 2 for 0.800s", k.describe());
  }
}
