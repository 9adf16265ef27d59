package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.LongHashSet;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.project.Responses;
import dev.activerm.server.core.project.SelectionLog;
import dev.activerm.server.store.SelectionRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RegisterSelection: a batch computed off the server becomes a stored selection whose pairs
 * are pending, exactly like SelectBatch's, together with the rows of chosen responses the
 * server did not hold ({@link CarriedRows}). Everything is checked under the write lock, which
 * is held until the one database transaction that stores the rows and the selection has
 * committed, so a rejected call stores nothing and no other call sees half of it.
 */
public final class Registrations {
  private static final Logger log = LoggerFactory.getLogger(Registrations.class);

  private final ProjectRegistry registry;
  private final Responses responses;
  private final SqliteStore store;
  private final Clock clock;

  public Registrations(ProjectRegistry registry, Responses responses, SqliteStore store, Clock clock) {
    this.registry = registry;
    this.responses = responses;
    this.store = store;
    this.clock = clock;
  }

  public SelectionInfo register(RegisterRequest req) {
    long started = System.nanoTime();
    req.check();
    ProjectState s = registry.require(req.projectId());
    registry.expirePending(s);
    try (CarriedRows rows = CarriedRows.open(responses, s, req.rows())) {
      s.lock().writeLock().lock();
      try {
        s.checkNotDeleted();
        s.selections().expire(clock.millis());
        checkModel(s, req.modelVersion());
        rows.check();
        Violations missing = new Violations();
        int[] a = rows(rows, req.aIds(), ".a_id", missing);
        int[] b = rows(rows, req.bIds(), ".b_id", missing);
        missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND, "RegisterSelection names responses project '"
            + s.spec().id() + "' does not hold and new_responses does not carry; send their rows in new_responses"
            + " (or add them with AddResponses first). Nothing was stored:");
        checkPairs(s, rows, a, b);
        return commit(s, req, rows, a, b, started);
      } finally {
        s.lock().writeLock().unlock();
      }
    }
  }

  /** Rows of ids, held or carried (-1 where neither, with a NOT_FOUND violation pairs[i]suffix). */
  private static int[] rows(CarriedRows carried, List<String> ids, String suffix, Violations missing) {
    int[] out = new int[ids.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = carried.rowOf(ids.get(i));
      if (out[i] < 0) {
        missing.add("pairs[" + i + "]" + suffix, "'" + Shown.id(ids.get(i)) + "' is neither a response of the project"
            + " nor a row of new_responses");
      }
    }
    return out;
  }

  private static void checkModel(ProjectState s, long version) {
    RewardModel m = s.latestModel();
    long latest = m == null ? 0 : m.version();
    if (version != latest) {
      throw ActiveRmException.failedPrecondition("the batch was computed for model_version " + version
          + " but the latest model of project '" + s.spec().id() + "' is " + latest
          + "; nothing was stored: call ExportSelectionState again and recompute the batch");
    }
  }

  /** Retired, labeled, pending or repeated pairs: INVALID_ARGUMENT naming each. */
  private static void checkPairs(ProjectState s, CarriedRows carried, int[] a, int[] b) {
    LongHashSet labeled = new LongHashSet(s.comparisons().size());
    for (int i = 0; i < s.comparisons().size(); i++) {
      labeled.add(PairKeys.key(s.comparisons().aRow(i), s.comparisons().bRow(i)));
    }
    LongHashSet seen = new LongHashSet(a.length);
    Violations bad = new Violations();
    for (int i = 0; i < a.length; i++) {
      long k = PairKeys.key(a[i], b[i]);
      String field = "pairs[" + i + "]";
      if (retired(s, carried, a[i]) || retired(s, carried, b[i])) {
        bad.add(field, "names a retired response; retired responses are never candidates");
      } else if (labeled.contains(k)) {
        bad.add(field, "is already labeled; exclude ExportSelectionStateResponse.labeled_pairs");
      } else if (s.selections().isPending(k)) {
        bad.add(field, "is already pending; exclude ExportSelectionStateResponse.pending_pairs");
      } else if (!seen.add(k)) {
        bad.add(field, "repeats an earlier pair of this request (either orientation)");
      }
    }
    bad.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid RegisterSelection pairs; nothing was stored:");
  }

  private static boolean retired(ProjectState s, CarriedRows carried, int row) {
    return !carried.isNew(row) && s.responses().isRetired(row);
  }

  private SelectionInfo commit(ProjectState s, RegisterRequest req, CarriedRows rows, int[] a, int[] b,
      long started) {
    int seq = s.selections().nextSeq();
    String id = "sel-" + seq;
    long ttl = req.pendingTtlMillis() != 0 ? req.pendingTtlMillis() : s.spec().pendingTtlMillis();
    SelectionRecord record = new SelectionRecord(seq, id, req.modelVersion(), req.strategy().name(),
        SelectionRecords.encodeRegistered(req), req.seed(), a.length, req.numCandidates(),
        Math.toIntExact(s.comparisons().nextSeq()), clock.millis(), System.nanoTime() - started, a, b,
        req.scores().clone(), ttl);
    rows.commit(() -> store.insertSelection(s.key(), record));
    s.selections().add(record);
    log.info("RegisterSelection project '{}' {}: {} pairs by {} computed on {} (model v{}), {} new responses",
        s.spec().id(), id, a.length, req.strategy(), req.computedOn(), req.modelVersion(), rows.numNew());
    SelectionLog.Entry entry = s.selections().entry(id);
    return SelectionRecords.info(s, entry, Map.of(), true);
  }
}
