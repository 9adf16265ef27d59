package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.core.project.Identifiers;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.project.SelectionLog;
import dev.activerm.server.store.SelectionRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** ReleasePairs: pending pairs given back, durably, under the project's write lock. */
final class PairReleases {
  private static final Logger log = LoggerFactory.getLogger(PairReleases.class);

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final Clock clock;

  PairReleases(ProjectRegistry registry, SqliteStore store, Clock clock) {
    this.registry = registry;
    this.store = store;
    this.clock = clock;
  }

  /**
   * ReleasePairs: the listed pairs of a selection (either orientation; empty: all of them) stop
   * being pending, durably, all or none (NOT_FOUND naming every pair not in the selection).
   */
  Selections.ReleaseResult release(String projectId, String selectionId, List<String> aIds, List<String> bIds) {
    ProjectState s = registry.require(projectId);
    Identifiers.require("selection_id", selectionId);
    Violations invalid = new Violations();
    for (int i = 0; i < aIds.size(); i++) {
      String pa = Identifiers.problem(aIds.get(i));
      if (pa != null) {
        invalid.add("pairs[" + i + "].a_id", pa);
      }
      String pb = Identifiers.problem(bIds.get(i));
      if (pb != null) {
        invalid.add("pairs[" + i + "].b_id", pb);
      }
    }
    invalid.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid ReleasePairs request; nothing was released:");
    s.lock().writeLock().lock();
    try {
      s.checkNotDeleted();
      s.selections().expire(clock.millis());
      SelectionLog.Entry e = SelectionHistory.require(s, selectionId);
      SelectionRecord r = e.record();
      List<Integer> asked = new ArrayList<>();
      if (aIds.isEmpty()) {
        for (int i = 0; i < r.aRows().length; i++) {
          asked.add(i);
        }
      } else {
        Map<Long, Integer> index = new HashMap<>();
        for (int i = 0; i < r.aRows().length; i++) {
          index.put(PairKeys.key(r.aRows()[i], r.bRows()[i]), i);
        }
        Violations missing = new Violations();
        for (int i = 0; i < aIds.size(); i++) {
          int a = s.responses().rowOf(aIds.get(i));
          int b = s.responses().rowOf(bIds.get(i));
          Integer idx = a < 0 || b < 0 || a == b ? null : index.get(PairKeys.key(a, b));
          if (idx == null) {
            missing.add("pairs[" + i + "]", "('" + aIds.get(i) + "', '" + bIds.get(i) + "') is not a pair of selection '"
                + selectionId + "'");
          } else if (!asked.contains(idx)) {
            asked.add(idx);
          }
        }
        missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
            "ReleasePairs names pairs that selection '" + selectionId + "' of project '" + projectId
                + "' did not choose (GetSelection lists them). Nothing was released:");
      }
      int[] pendingIdx = asked.stream().mapToInt(Integer::intValue).filter(e::isPending).toArray();
      if (pendingIdx.length > 0) {
        store.releasePairs(s.key(), r.seq(), pendingIdx, clock.millis());
        s.selections().release(e, pendingIdx);
        log.info("project '{}' {}: released {} pending pairs", projectId, selectionId, pendingIdx.length);
      }
      return new Selections.ReleaseResult(pendingIdx.length, asked.size() - pendingIdx.length, s.selections().pendingCount());
    } finally {
      s.lock().writeLock().unlock();
    }
  }

}
