package dev.activerm.server.core.selection;

import dev.activerm.server.core.cache.CacheMetrics;
import dev.activerm.server.core.cache.DerivedStateCache;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.project.Identifiers;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.strategy.LabeledInformation;
import dev.activerm.server.core.strategy.SelectionMemory;
import dev.activerm.server.core.strategy.SelectionStrategy;
import dev.activerm.server.core.strategy.Strategy;
import dev.activerm.server.core.strategy.StrategyInput;
import dev.activerm.server.core.strategy.StrategyResult;
import dev.activerm.server.store.SelectionRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SelectBatch and GetSelection. A selection is computed under the project's read lock,
 * then stored durably and applied (its pairs become pending) under the write lock; if
 * labels, pending pairs or the model changed in between, it is recomputed under the write
 * lock, so the stored batch is exactly what the state at commit time gives for that seed.
 */
public final class Selections {
  private static final Logger log = LoggerFactory.getLogger(Selections.class);

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final Clock clock;
  private final DerivedStateCache cache;
  private final CandidateBuilder candidates;

  public Selections(ProjectRegistry registry, SqliteStore store, Clock clock, DerivedStateCache cache) {
    this.registry = registry;
    this.store = store;
    this.clock = clock;
    this.cache = cache;
    this.candidates = new CandidateBuilder(cache);
  }

  /** The whole derived-state cache, as metrics see it. */
  public CacheMetrics cacheMetrics() {
    return cache.metrics("derived_state");
  }

  /** What a computation saw (to detect a change before commit) and what it chose. */
  private record Computed(long modelVersion, long numComparisons, long pendingVersion, long numCandidates,
      int numPrompts, int[] a, int[] b, double[] scores) {}

  public SelectionInfo select(SelectRequest req, BooleanSupplier cancelled) {
    long started = System.nanoTime();
    req.check();
    ProjectState s = registry.require(req.projectId());
    log.info("project '{}': SelectBatch started ({}, batch {}, {} candidates{})", req.projectId(), req.strategy(),
        req.batchSize(), req.source(),
        req.promptIds().isEmpty() ? "" : " of " + req.promptIds().size() + " listed prompt ids");
    try {
      Computed c;
      Lock read = s.readLock();
      try {
        c = compute(s, req, cancelled);
      } finally {
        read.unlock();
      }
      s.lock().writeLock().lock();
      try {
        s.checkNotDeleted();
        if (!unchanged(s, c)) {
          log.debug("state of project '{}' changed during SelectBatch; recomputing under the write lock", req.projectId());
          c = compute(s, req, cancelled);
        }
        return commit(s, req, c, started);
      } finally {
        s.lock().writeLock().unlock();
      }
    } catch (CancelledException e) {
      log.info("project '{}': {} ({}) after {} ms; nothing stored", req.projectId(), e.getMessage(), req.strategy(),
          (System.nanoTime() - started) / 1_000_000);
      throw e;
    }
  }

  public SelectionInfo get(String projectId, String selectionId) {
    ProjectState s = registry.require(projectId);
    Identifiers.require("selection_id", selectionId);
    Lock l = s.readLock();
    try {
      SelectionRecord r = s.selections().get(selectionId);
      if (r == null) {
        throw ActiveRmException.notFound(
            "selection '" + selectionId + "' does not exist in project '" + projectId
                + "'; use the selection_id returned by SelectBatch",
            new FieldViolation("selection_id", "no selection '" + selectionId + "'"));
      }
      return SelectionRecords.info(s, r);
    } finally {
      l.unlock();
    }
  }

  private static boolean unchanged(ProjectState s, Computed c) {
    RewardModel m = s.latestModel();
    long mv = m == null ? 0 : m.version();
    return s.comparisons().size() == c.numComparisons && s.selections().version() == c.pendingVersion
        && mv == c.modelVersion;
  }

  private Computed compute(ProjectState s, SelectRequest req, BooleanSupplier cancelled) {
    Strategy strategy = req.strategy();
    RewardModel model = s.latestModel();
    checkModel(s, req, model);
    long nComp = s.comparisons().size();
    long pendingVersion = s.selections().version();
    CandidateBuilder.Candidates cand = candidates.candidates(s, req, cancelled);

    CandidateBuilder.Labeled labeled = strategy.usesLabeled()
        ? CandidateBuilder.labeled(s)
        : new CandidateBuilder.Labeled(new PairList(new int[0], new int[0]), new double[0]);
    RewardModel used = strategy == Strategy.RANDOM ? null : model;
    StrategyInput input = new StrategyInput(s.pool(), used, cand.pairs(), labeled.pairs(), labeled.weights(),
        s.spec().l2(), strategy, req.params().resolve(), req.seed(), req.batchSize(), cancelled, null);
    // Before lambda I + F(labeled) (h x h) is built below: refuse what cannot fit up front.
    SelectionMemory.check(input);
    if (strategy.usesLabeled()) {
      StrategyInput base = input;
      input = input.withLabeledInfo(cache.get(
          new DerivedStateCache.Key("labeled-information", s.key(), model.version(), nComp, pendingVersion),
          () -> LabeledInformation.compute(base),
          LabeledInformation::bytes));
    }
    StrategyResult result = SelectionStrategy.run(input);
    int[] a = new int[result.index().length];
    int[] b = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = cand.pairs().a()[result.index()[i]];
      b[i] = cand.pairs().b()[result.index()[i]];
    }
    return new Computed(model == null ? 0 : model.version(), nComp, pendingVersion, cand.pairs().size(),
        cand.numPrompts(), a, b, result.score());
  }

  /** SelectBatch uses the latest model only, and model-based strategies need one. */
  private static void checkModel(ProjectState s, SelectRequest req, RewardModel model) {
    if (req.modelVersion() != 0) {
      long latest = model == null ? 0 : model.version();
      if (req.modelVersion() > latest) {
        throw ActiveRmException.notFound(
            "model_version " + req.modelVersion() + " does not exist in project '" + s.spec().id() + "' (latest: "
                + latest + "); pass 0 for the latest, or call Fit",
            new FieldViolation("model_version", "no version " + req.modelVersion()));
      }
      if (req.modelVersion() != latest) {
        throw ActiveRmException.failedPrecondition(
            "model_version " + req.modelVersion() + " is not the latest (" + latest
                + "); SelectBatch uses the latest model only: pass 0 or " + latest);
      }
    }
    if (req.strategy().needsModel() && model == null) {
      throw ActiveRmException.failedPrecondition(
          "strategy " + req.strategy() + " needs a fitted reward model and project '" + s.spec().id()
              + "' has none; call Fit first (it has " + s.comparisons().size()
              + " comparisons), or use a model-free strategy (RANDOM, OLS_DOPT, CORESET)");
    }
  }

  private SelectionInfo commit(ProjectState s, SelectRequest req, Computed c, long started) {
    int seq = s.selections().nextSeq();
    String id = "sel-" + seq;
    long wall = System.nanoTime() - started;
    SelectionRecord record = new SelectionRecord(
        seq, id, c.modelVersion, req.strategy().name(), SelectionRecords.encodeParameters(req, c.numPrompts),
        req.seed(), req.batchSize(), c.numCandidates, (int) c.numComparisons, clock.millis(), wall, c.a, c.b,
        c.scores);
    store.insertSelection(s.key(), record);
    s.selections().add(record, s.comparisons());
    log.info("SelectBatch project '{}' {}: {} {} of {} candidates in {} ms (model v{})",
        s.spec().id(), id, req.strategy(), req.batchSize(), c.numCandidates, wall / 1_000_000, c.modelVersion);
    cache.logStats("SelectBatch " + id);
    return SelectionRecords.info(s, record);
  }
}
