package io.wsgateway.chaos;

import io.wsgateway.chaos.check.CheckReport;
import io.wsgateway.chaos.faults.FaultKind;
import java.nio.file.Path;
import java.util.Set;

/**
 * The outcome of one chaos run. Immutable.
 *
 * @param seed the run's seed: {@code --seed} replays its schedule
 * @param runId the run's unique id (in instance ids, key prefixes, exchange names)
 * @param dir the run's directory: history.jsonl, report.txt, summary.txt, schedule.txt, logs/
 * @param report the checker's report, or {@code null} if the harness failed before checking
 * @param harnessError what went wrong in the harness itself (setup, teardown), or {@code null}
 * @param faultsPlanned faults in the schedule
 * @param kindsCarriedOut the fault kinds that took effect as planned at least once
 * @param summary the text of summary.txt
 */
public record ChaosResult(long seed, String runId, Path dir, CheckReport report, String harnessError,
    int faultsPlanned, Set<FaultKind> kindsCarriedOut, String summary) {

  /** Whether the run completed and the checker found nothing. */
  public boolean ok() {
    return harnessError == null && report != null && report.ok();
  }
}
