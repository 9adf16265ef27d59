package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.store.ComparisonRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;

/** AddComparisons and ListComparisons: the labels, checked whole, stored atomically. */
public final class Comparisons {
  public static final int MAX_COMPARISONS_PER_CALL = 1_000_000;
  public static final double MAX_WEIGHT = 1e6;

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final Clock clock;

  public Comparisons(ProjectRegistry registry, SqliteStore store, Clock clock) {
    this.registry = registry;
    this.store = store;
    this.clock = clock;
  }

  /** Result of an AddComparisons call. */
  public record AddResult(long added, long total, long pendingResolved) {}

  /** Stores comparisons atomically after checking every one (ids, outcome, weight). */
  public AddResult add(String projectId, List<ComparisonInput> inputs) {
    ProjectState s = registry.require(projectId);
    check(inputs);
    s.lock().writeLock().lock();
    try {
      s.checkNotDeleted();
      Violations missing = new Violations();
      int[] aRows = new int[inputs.size()];
      int[] bRows = new int[inputs.size()];
      for (int i = 0; i < inputs.size(); i++) {
        aRows[i] = RowResolver.row(s, inputs.get(i).aId(), "comparisons[" + i + "].a_id", missing);
        bRows[i] = RowResolver.row(s, inputs.get(i).bId(), "comparisons[" + i + "].b_id", missing);
      }
      missing.throwIfAny(
          ActiveRmException.Kind.NOT_FOUND,
          "AddComparisons names responses that are not in project '" + projectId
              + "'; add them with AddResponses first. Nothing was stored:");
      long now = clock.millis();
      List<ComparisonRecord> records = new ArrayList<>(inputs.size());
      for (int i = 0; i < inputs.size(); i++) {
        ComparisonInput c = inputs.get(i);
        double w = c.weight() == 0 ? 1.0 : c.weight();
        records.add(new ComparisonRecord(aRows[i], bRows[i], c.outcome().ordinal(), w, c.annotatorId(), now));
      }
      int firstSeq = s.comparisons().size();
      store.appendComparisons(s.key(), firstSeq, records);
      for (ComparisonRecord r : records) {
        ProjectRecords.append(s.comparisons(), r);
      }
      long resolved = s.selections().resolve(aRows, bRows);
      return new AddResult(records.size(), s.comparisons().size(), resolved);
    } finally {
      s.lock().writeLock().unlock();
    }
  }

  private static void check(List<ComparisonInput> inputs) {
    if (inputs.isEmpty() || inputs.size() > MAX_COMPARISONS_PER_CALL) {
      throw ActiveRmException.invalid(
          "AddComparisons carries " + inputs.size() + " comparisons; send 1.." + MAX_COMPARISONS_PER_CALL
              + " per call (split larger sets)",
          new FieldViolation("comparisons", "must hold 1.." + MAX_COMPARISONS_PER_CALL + " items"));
    }
    Violations invalid = new Violations();
    for (int i = 0; i < inputs.size(); i++) {
      ComparisonInput c = inputs.get(i);
      String f = "comparisons[" + i + "]";
      String pa = Identifiers.problem(c.aId());
      if (pa != null) {
        invalid.add(f + ".a_id", pa);
      }
      String pb = Identifiers.problem(c.bId());
      if (pb != null) {
        invalid.add(f + ".b_id", pb);
      }
      if (pa == null && c.aId().equals(c.bId())) {
        invalid.add(f + ".b_id", "equals a_id ('" + Shown.id(c.aId()) + "'); a response cannot be compared with itself");
      }
      if (c.outcome() == null) {
        invalid.add(f + ".outcome", "is unset; use OUTCOME_A, OUTCOME_B or OUTCOME_TIE");
      }
      if (c.weight() != 0 && !(c.weight() > 0 && c.weight() <= MAX_WEIGHT)) {
        invalid.add(f + ".weight", "is " + c.weight() + "; use a finite weight in (0, " + MAX_WEIGHT + "] (0 means 1.0)");
      }
      if (!c.annotatorId().isEmpty()) {
        String pn = Identifiers.problem(c.annotatorId());
        if (pn != null) {
          invalid.add(f + ".annotator_id", pn);
        }
      }
    }
    invalid.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid AddComparisons request; nothing was stored:");
  }

  public ComparisonPage list(String projectId, long offset, int pageSize) {
    ProjectState s = registry.require(projectId);
    int size = Pages.size(pageSize);
    Lock l = s.readLock();
    try {
      ComparisonLog log = s.comparisons();
      int total = log.size();
      int from = (int) Math.min(offset, total);
      int to = (int) Math.min((long) from + size, total);
      List<Comparison> out = new ArrayList<>(to - from);
      for (int i = from; i < to; i++) {
        out.add(new Comparison(
            s.responses().id(log.aRow(i)),
            s.responses().id(log.bRow(i)),
            log.outcome(i),
            log.annotator(i),
            log.weight(i),
            Instant.ofEpochMilli(log.createMillis(i))));
      }
      return new ComparisonPage(out, to < total ? to : -1);
    } finally {
      l.unlock();
    }
  }
}
