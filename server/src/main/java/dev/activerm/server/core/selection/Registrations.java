package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.LongHashSet;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.project.RowResolver;
import dev.activerm.server.core.project.SelectionLog;
import dev.activerm.server.store.SelectionRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RegisterSelection: a batch computed off the server becomes a stored selection whose pairs
 * are pending, exactly like SelectBatch's. Everything is checked under the write lock before
 * the one durable insert, so a rejected call stores nothing.
 */
public final class Registrations {
  private static final Logger log = LoggerFactory.getLogger(Registrations.class);

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final Clock clock;

  public Registrations(ProjectRegistry registry, SqliteStore store, Clock clock) {
    this.registry = registry;
    this.store = store;
    this.clock = clock;
  }

  public SelectionInfo register(RegisterRequest req) {
    long started = System.nanoTime();
    req.check();
    ProjectState s = registry.require(req.projectId());
    registry.expirePending(s);
    s.lock().writeLock().lock();
    try {
      s.checkNotDeleted();
      s.selections().expire(clock.millis());
      checkModel(s, req.modelVersion());
      Violations missing = new Violations();
      int[] a = RowResolver.rows(s, req.aIds(), "pairs", ".a_id", missing);
      int[] b = RowResolver.rows(s, req.bIds(), "pairs", ".b_id", missing);
      missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND, "RegisterSelection names responses project '"
          + s.spec().id() + "' does not hold; add them with AddResponses first. Nothing was stored:");
      checkPairs(s, a, b);
      return commit(s, req, a, b, started);
    } finally {
      s.lock().writeLock().unlock();
    }
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
  private static void checkPairs(ProjectState s, int[] a, int[] b) {
    LongHashSet labeled = new LongHashSet(s.comparisons().size());
    for (int i = 0; i < s.comparisons().size(); i++) {
      labeled.add(PairKeys.key(s.comparisons().aRow(i), s.comparisons().bRow(i)));
    }
    LongHashSet seen = new LongHashSet(a.length);
    Violations bad = new Violations();
    for (int i = 0; i < a.length; i++) {
      long k = PairKeys.key(a[i], b[i]);
      String field = "pairs[" + i + "]";
      if (s.responses().isRetired(a[i]) || s.responses().isRetired(b[i])) {
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

  private SelectionInfo commit(ProjectState s, RegisterRequest req, int[] a, int[] b, long started) {
    int seq = s.selections().nextSeq();
    String id = "sel-" + seq;
    long ttl = req.pendingTtlMillis() != 0 ? req.pendingTtlMillis() : s.spec().pendingTtlMillis();
    SelectionRecord record = new SelectionRecord(seq, id, req.modelVersion(), req.strategy().name(),
        SelectionRecords.encodeRegistered(req), req.seed(), a.length, req.numCandidates(),
        Math.toIntExact(s.comparisons().nextSeq()), clock.millis(), System.nanoTime() - started, a, b,
        req.scores().clone(), ttl);
    store.insertSelection(s.key(), record);
    s.selections().add(record);
    log.info("RegisterSelection project '{}' {}: {} pairs by {} computed on {} (model v{})", s.spec().id(), id,
        a.length, req.strategy(), req.computedOn(), req.modelVersion());
    SelectionLog.Entry entry = s.selections().entry(id);
    return SelectionRecords.info(s, entry, Map.of(), true);
  }
}
