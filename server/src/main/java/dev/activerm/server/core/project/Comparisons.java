package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.store.ComparisonRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.Lock;

/**
 * AddComparisons, ListComparisons and DeleteComparisons: the labels, checked whole, stored
 * atomically, idempotent by comparison id.
 */
public final class Comparisons {
  public static final int MAX_COMPARISONS_PER_CALL = 1_000_000;
  public static final double MAX_WEIGHT = 1e6;
  /** Prefix of server-assigned ids ("c-" + seq); existing comparisons got the same at migration. */
  static final String ASSIGNED_PREFIX = "c-";

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final Clock clock;

  public Comparisons(ProjectRegistry registry, SqliteStore store, Clock clock) {
    this.registry = registry;
    this.store = store;
    this.clock = clock;
  }

  /**
   * Result of an AddComparisons call. ids: one per input, in order. unchanged: ids already
   * stored with the same content; deletedBefore: ids of deleted comparisons with the same content.
   */
  public record AddResult(long added, long total, long pendingResolved, List<String> ids, long unchanged,
      long deletedBefore) {}

  /** Result of a DeleteComparisons call. */
  public record DeleteResult(long deleted, long alreadyDeleted, long total) {}

  /**
   * Stores comparisons atomically after checking every one (ids, outcome, weight). Inputs whose
   * comparison_id is already stored with the same content are not stored again; with other
   * content the whole call is ALREADY_EXISTS.
   */
  public AddResult add(String projectId, List<ComparisonInput> inputs) {
    ProjectState s = registry.require(projectId);
    ComparisonRequests.check(inputs);
    s.lock().writeLock().lock();
    try {
      s.checkNotDeleted();
      // An expired pair labeled now was no longer pending: it must not count as resolved.
      s.selections().expire(clock.millis());
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
      ComparisonLog log = s.comparisons();
      Violations conflicts = new Violations();
      long unchanged = 0;
      long deletedBefore = 0;
      boolean[] skip = new boolean[inputs.size()];
      for (int i = 0; i < inputs.size(); i++) {
        ComparisonInput c = inputs.get(i);
        if (c.comparisonId().isEmpty()) {
          continue;
        }
        String field = "comparisons[" + i + "].comparison_id";
        double w = c.weight() == 0 ? 1.0 : c.weight();
        int idx = log.indexOfId(c.comparisonId());
        if (idx >= 0) {
          String diff = ComparisonRequests.difference(aRows[i], bRows[i], c.outcome(), w, c.annotatorId(),
              log.aRow(idx), log.bRow(idx), log.outcome(idx), log.weight(idx), log.annotator(idx), s);
          if (diff == null) {
            skip[i] = true;
            unchanged++;
          } else {
            conflicts.add(field, "'" + c.comparisonId() + "' is stored with " + diff);
          }
          continue;
        }
        ComparisonLog.Deleted d = log.deleted(c.comparisonId());
        if (d != null) {
          String diff = ComparisonRequests.difference(aRows[i], bRows[i], c.outcome(), w, c.annotatorId(),
              d.aRow(), d.bRow(), d.outcome(), d.weight(), d.annotator(), s);
          if (diff == null) {
            skip[i] = true;
            deletedBefore++;
          } else {
            conflicts.add(field, "'" + c.comparisonId() + "' belongs to a deleted comparison with " + diff);
          }
        }
      }
      conflicts.throwIfAny(ActiveRmException.Kind.ALREADY_EXISTS,
          "AddComparisons reuses comparison ids stored with other content; give each new comparison a new id"
              + " (or none, and the server assigns one), or send exactly the stored content to retry. Nothing was"
              + " stored:");
      long now = clock.millis();
      long seq = log.nextSeq();
      Set<String> requested = new HashSet<>();
      for (ComparisonInput c : inputs) {
        if (!c.comparisonId().isEmpty()) {
          requested.add(c.comparisonId());
        }
      }
      List<String> ids = new ArrayList<>(inputs.size());
      List<ComparisonRecord> records = new ArrayList<>(inputs.size());
      int[] newA = new int[inputs.size()];
      int[] newB = new int[inputs.size()];
      for (int i = 0; i < inputs.size(); i++) {
        ComparisonInput c = inputs.get(i);
        if (skip[i]) {
          ids.add(c.comparisonId());
          continue;
        }
        String id = c.comparisonId().isEmpty() ? ComparisonRequests.assignedId(log, seq, requested) : c.comparisonId();
        double w = c.weight() == 0 ? 1.0 : c.weight();
        newA[records.size()] = aRows[i];
        newB[records.size()] = bRows[i];
        records.add(new ComparisonRecord(seq++, id, aRows[i], bRows[i], c.outcome().ordinal(), w, c.annotatorId(),
            now, 0));
        ids.add(id);
      }
      if (records.isEmpty()) {
        return new AddResult(0, log.size(), 0, ids, unchanged, deletedBefore);
      }
      store.appendComparisons(s.key(), records);
      for (ComparisonRecord r : records) {
        ProjectRecords.append(log, r);
      }
      long resolved = s.selections().resolve(
          Arrays.copyOf(newA, records.size()), Arrays.copyOf(newB, records.size()));
      return new AddResult(records.size(), log.size(), resolved, ids, unchanged, deletedBefore);
    } finally {
      s.lock().writeLock().unlock();
    }
  }

  /**
   * A page of live comparisons in seq order, from fromSeq (a page token is the seq of the next
   * comparison, so pages stay right across deletes), optionally of one annotator (empty: all).
   */
  public ComparisonPage list(String projectId, long fromSeq, int pageSize, String annotatorId) {
    ProjectState s = registry.require(projectId);
    int size = Pages.size(pageSize);
    if (!annotatorId.isEmpty()) {
      Identifiers.require("annotator_id", annotatorId);
    }
    Lock l = s.readLock();
    try {
      ComparisonLog log = s.comparisons();
      int total = log.size();
      List<Comparison> out = new ArrayList<>(Math.min(size, total));
      int i = log.countBelowSeq(fromSeq);
      for (; i < total && out.size() < size; i++) {
        if (!annotatorId.isEmpty() && !annotatorId.equals(log.annotator(i))) {
          continue;
        }
        out.add(new Comparison(
            s.responses().id(log.aRow(i)),
            s.responses().id(log.bRow(i)),
            log.outcome(i),
            log.annotator(i),
            log.weight(i),
            Instant.ofEpochMilli(log.createMillis(i)),
            log.id(i)));
      }
      if (!annotatorId.isEmpty()) {
        while (i < total && !annotatorId.equals(log.annotator(i))) {
          i++;
        }
      }
      return new ComparisonPage(out, i < total ? log.seq(i) : -1);
    } finally {
      l.unlock();
    }
  }

  /**
   * Deletes comparisons by id (all must exist, live or deleted before) or every live one of an
   * annotator, atomically; durable before it returns. Pending pairs are not affected: a pair
   * whose label is deleted becomes a candidate again, not pending.
   */
  public DeleteResult delete(String projectId, List<String> ids, String annotatorId) {
    ProjectState s = registry.require(projectId);
    if (ids.isEmpty() == annotatorId.isEmpty()) {
      throw ActiveRmException.invalid(
          "DeleteComparisons needs exactly one of comparison_ids and annotator_id; "
              + (ids.isEmpty() ? "set one" : "send two calls to delete by both"),
          new FieldViolation("comparison_ids", "give comparison_ids or annotator_id, not both or neither"));
    }
    if (ids.size() > MAX_COMPARISONS_PER_CALL) {
      throw ActiveRmException.invalid("DeleteComparisons lists " + ids.size() + " ids; send at most "
          + MAX_COMPARISONS_PER_CALL + " per call",
          new FieldViolation("comparison_ids", "must hold 1.." + MAX_COMPARISONS_PER_CALL + " ids"));
    }
    Violations invalid = new Violations();
    for (int i = 0; i < ids.size(); i++) {
      String p = Identifiers.problem(ids.get(i));
      if (p != null) {
        invalid.add("comparison_ids[" + i + "]", p);
      }
    }
    if (!annotatorId.isEmpty()) {
      String p = Identifiers.problem(annotatorId);
      if (p != null) {
        invalid.add("annotator_id", p);
      }
    }
    invalid.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid DeleteComparisons request; nothing was deleted:");
    s.lock().writeLock().lock();
    try {
      s.checkNotDeleted();
      ComparisonLog log = s.comparisons();
      TreeSet<Integer> indices = new TreeSet<>();
      long alreadyDeleted = 0;
      if (annotatorId.isEmpty()) {
        Violations missing = new Violations();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < ids.size(); i++) {
          String id = ids.get(i);
          int idx = log.indexOfId(id);
          if (idx >= 0) {
            indices.add(idx);
          } else if (log.deleted(id) != null) {
            if (seen.add(id)) {
              alreadyDeleted++;
            }
          } else {
            missing.add("comparison_ids[" + i + "]", "'" + id + "' is not a comparison of project '" + projectId + "'");
          }
        }
        missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
            "DeleteComparisons names comparisons that project '" + projectId
                + "' does not hold (ListComparisons shows their ids). Nothing was deleted:");
      } else {
        for (int i = 0; i < log.size(); i++) {
          if (annotatorId.equals(log.annotator(i))) {
            indices.add(i);
          }
        }
      }
      int[] idx = indices.stream().mapToInt(Integer::intValue).toArray();
      if (idx.length > 0) {
        long[] seqs = new long[idx.length];
        for (int i = 0; i < idx.length; i++) {
          seqs[i] = log.seq(idx[i]);
        }
        store.deleteComparisons(s.key(), seqs, clock.millis());
        log.delete(idx);
      }
      return new DeleteResult(idx.length, alreadyDeleted, log.size());
    } finally {
      s.lock().writeLock().unlock();
    }
  }
}
