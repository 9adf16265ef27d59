package dev.activerm.server.core.selection;

import dev.activerm.server.core.cache.CacheMetrics;
import dev.activerm.server.core.cache.DerivedStateCache;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.strategy.BatchInformation;
import dev.activerm.server.core.strategy.LabeledInformation;
import dev.activerm.server.core.strategy.LowRankLabeled;
import dev.activerm.server.core.strategy.SelectionMemory;
import dev.activerm.server.core.strategy.SelectionStrategy;
import dev.activerm.server.core.strategy.Strategy;
import dev.activerm.server.core.strategy.StrategyInput;
import dev.activerm.server.core.strategy.StrategyResult;
import dev.activerm.server.core.strategy.WorkSize;
import dev.activerm.server.store.SelectionRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import dev.activerm.server.core.project.SelectionLog;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SelectBatch and GetSelection. A selection is computed under the project's read lock,
 * then stored durably and applied (its pairs become pending) under the write lock; if
 * labels, pending pairs or the model changed in between, it is recomputed under the write
 * lock, so the stored batch is exactly what the state at commit time gives for that seed.
 * The selection room's one door for the api: reading selections back is
 * {@link SelectionHistory}'s job, giving pairs back {@link PairReleases}'.
 */
public final class Selections {
  private static final Logger log = LoggerFactory.getLogger(Selections.class);

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final Clock clock;
  private final DerivedStateCache cache;
  private final CandidateBuilder candidates;
  private final SelectionHistory history;
  private final PairReleases releases;

  public Selections(ProjectRegistry registry, SqliteStore store, Clock clock, DerivedStateCache cache) {
    this.registry = registry;
    this.store = store;
    this.clock = clock;
    this.cache = cache;
    this.candidates = new CandidateBuilder(cache);
    this.history = new SelectionHistory(registry);
    this.releases = new PairReleases(registry, store, clock);
  }

  /** The whole derived-state cache, as metrics see it. */
  public CacheMetrics cacheMetrics() {
    return cache.metrics("derived_state");
  }

  /** What a computation saw (to detect a change before commit) and what it chose. */
  private record Computed(long modelVersion, long labelsVersion, long pendingVersion, int numRetired,
      long numCandidates, int numPrompts, int[] a, int[] b, double[] scores, double logDetGain, PhaseTimes phases) {}

  /**
   * Where a selection's compute time went, in ms, for the log line an operator reads when a
   * round is slow: building the candidates, lambda I + F(labeled) (0 on a cache hit or when
   * unused), the strategy, and the batch's log det gain.
   */
  record PhaseTimes(long candidatesNanos, long labeledNanos, long strategyNanos, long gainNanos) {
    @Override
    public String toString() {
      return String.format(java.util.Locale.ROOT, "candidates %d, labeled information %d, strategy %d, gain %d ms",
          candidatesNanos / 1_000_000, labeledNanos / 1_000_000, strategyNanos / 1_000_000, gainNanos / 1_000_000);
    }
  }

  public SelectionInfo select(SelectRequest req, BooleanSupplier cancelled) {
    long started = System.nanoTime();
    req.check();
    ProjectState s = registry.require(req.projectId());
    log.info("project '{}': SelectBatch started ({}, batch {}, {} candidates{})", req.projectId(), req.strategy(),
        req.batchSize(), req.source(),
        req.promptIds().isEmpty() ? "" : " of " + req.promptIds().size() + " listed prompt ids");
    try {
      Computed c;
      registry.expirePending(s);
      Lock read = s.readLock();
      try {
        c = compute(s, req, cancelled);
      } finally {
        read.unlock();
      }
      s.lock().writeLock().lock();
      try {
        s.checkNotDeleted();
        s.selections().expire(clock.millis());
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
    return history.get(projectId, selectionId);
  }

  /** A page of selections, newest first, and the seq to continue below (-1: last page). */
  public record SelectionPage(List<SelectionInfo> selections, long nextBelowSeq) {}

  public static final int MAX_LIST_PAGE = SelectionHistory.MAX_LIST_PAGE;

  /** ListSelections: newest first from below seq belowSeq (0: from the newest), with counts. */
  public SelectionPage list(String projectId, long belowSeq, int pageSize, boolean withPairs) {
    return history.list(projectId, belowSeq, pageSize, withPairs);
  }

  /** Result of ReleasePairs. */
  public record ReleaseResult(long released, long notPending, long pendingPairs) {}

  /**
   * ReleasePairs: the listed pairs of a selection (either orientation; empty: all of them) stop
   * being pending, durably, all or none (NOT_FOUND naming every pair not in the selection).
   */
  public ReleaseResult release(String projectId, String selectionId, List<String> aIds, List<String> bIds) {
    return releases.release(projectId, selectionId, aIds, bIds);
  }

  private static boolean unchanged(ProjectState s, Computed c) {
    RewardModel m = s.latestModel();
    long mv = m == null ? 0 : m.version();
    return s.comparisons().version() == c.labelsVersion && s.selections().version() == c.pendingVersion
        && s.responses().numRetired() == c.numRetired && mv == c.modelVersion;
  }

  private Computed compute(ProjectState s, SelectRequest req, BooleanSupplier cancelled) {
    Strategy strategy = req.strategy();
    RewardModel model = s.latestModel();
    checkModel(s, req, model);
    long labelsVersion = s.comparisons().version();
    long pendingVersion = s.selections().version();
    long t0 = System.nanoTime();
    CandidateBuilder.Candidates cand = candidates.candidates(s, req, cancelled);
    long candidatesNanos = System.nanoTime() - t0;

    CandidateBuilder.Labeled labeled = strategy.usesLabeled()
        ? CandidateBuilder.labeled(s)
        : new CandidateBuilder.Labeled(new PairList(new int[0], new int[0]), new double[0]);
    RewardModel used = strategy == Strategy.RANDOM ? null : model;
    StrategyInput input = new StrategyInput(s.pool(), used, cand.pairs(), labeled.pairs(), labeled.weights(),
        s.spec().l2(), strategy, req.params().resolve(), req.seed(), req.batchSize(), cancelled, null);
    // Before lambda I + F(labeled) (h x h) is built below: refuse what cannot fit up front.
    SelectionMemory.check(input);
    // The labeled information, the strategy and the batch's gain in the one mode the work-size
    // policy picks for this selection's sizes.
    StrategyInput sized = input;
    return WorkSize.run(input,
        () -> strategyAndGain(s, sized, model, labeled, cand, labelsVersion, pendingVersion, candidatesNanos));
  }

  private Computed strategyAndGain(ProjectState s, StrategyInput input, RewardModel model,
      CandidateBuilder.Labeled labeled, CandidateBuilder.Candidates cand, long labelsVersion, long pendingVersion,
      long candidatesNanos) {
    long t0 = System.nanoTime();
    // The Woodbury form (few labeled pairs, wide features) never builds the h x h matrix.
    if (input.strategy().usesLabeled() && !LowRankLabeled.applies(input)) {
      StrategyInput base = input;
      input = input.withLabeledInfo(cache.get(
          new DerivedStateCache.Key("labeled-information", s.key(), model.version(), labelsVersion, pendingVersion),
          () -> LabeledInformation.compute(base),
          LabeledInformation::bytes));
    }
    long t1 = System.nanoTime();
    StrategyResult result = SelectionStrategy.run(input);
    long t2 = System.nanoTime();
    int[] a = new int[result.index().length];
    int[] b = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = cand.pairs().a()[result.index()[i]];
      b[i] = cand.pairs().b()[result.index()[i]];
    }
    double gain = model == null ? Double.NaN : logDetGain(s, input, model, labeled, a, b);
    PhaseTimes phases = new PhaseTimes(candidatesNanos, t1 - t0, t2 - t1, System.nanoTime() - t2);
    return new Computed(model == null ? 0 : model.version(), labelsVersion, pendingVersion,
        s.responses().numRetired(), cand.pairs().size(), cand.numPrompts(), a, b, result.score(), gain, phases);
  }

  /**
   * The chosen batch's log det gain over lambda I + F(labeled and pending) under the latest
   * model, whichever strategy chose it (RANDOM and the reward-gap strategies too); the dense
   * lambda I + F(labeled) comes from the same cache entry the Fisher strategies use. NaN (not
   * measured, the selection still stands) when the measurement fails, does not fit in memory,
   * or would cost a strategy that never needed lambda I + F(labeled) more than
   * BatchInformation.MAX_OWN_FLOPS.
   */
  private double logDetGain(ProjectState s, StrategyInput used, RewardModel model, CandidateBuilder.Labeled labeled,
      int[] a, int[] b) {
    CandidateBuilder.Labeled lab = used.strategy().usesLabeled() ? labeled : CandidateBuilder.labeled(s);
    if (!used.strategy().usesLabeled()
        && BatchInformation.ownFlops(lab.pairs().size(), model.featureDim(), a.length) > BatchInformation.MAX_OWN_FLOPS) {
      log.debug("project '{}': the information of the {} batch is not measured ({} labeled pairs at h = {}: more than"
          + " BatchInformation.MAX_OWN_FLOPS of its own)", s.spec().id(), used.strategy(), lab.pairs().size(),
          model.featureDim());
      return Double.NaN;
    }
    StrategyInput in = new StrategyInput(s.pool(), model, used.candidates(), lab.pairs(), lab.weights(),
        used.lambda(), used.strategy(), used.params(), used.seed(), used.batchSize(), used.cancelled(),
        used.model() == model ? used.labeledInfo() : null);
    try {
      StrategyInput base = in;
      Supplier<LabeledInformation> shared = () -> cache.get(
          new DerivedStateCache.Key("labeled-information", s.key(), model.version(), s.comparisons().version(),
              s.selections().version()),
          () -> LabeledInformation.compute(base),
          LabeledInformation::bytes);
      if (!used.strategy().usesLabeled()) {
        // The strategy never built lambda I + F(labeled): the gain's own, cheaper form of it.
        return BatchInformation.ownLogDetGain(in, a, b, shared);
      }
      if (in.labeledInfo() == null
          && BatchInformation.needsLabeledInformation(lab.pairs().size(), model.featureDim(), a.length)) {
        in = in.withLabeledInfo(shared.get());
      }
      return BatchInformation.logDetGain(in, a, b);
    } catch (ActiveRmException e) {
      log.warn("project '{}': the information of the chosen batch was not measured ({}); the selection stands",
          s.spec().id(), e.getMessage());
      return Double.NaN;
    }
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
    long ttl = req.pendingTtlMillis() != 0 ? req.pendingTtlMillis() : s.spec().pendingTtlMillis();
    // The boundary is the next comparison seq: any comparison stored from now on labels these pairs.
    SelectionRecord record = new SelectionRecord(
        seq, id, c.modelVersion, req.strategy().name(), SelectionRecords.encodeParameters(req, c.numPrompts),
        req.seed(), req.batchSize(), c.numCandidates, Math.toIntExact(s.comparisons().nextSeq()), clock.millis(),
        wall, c.a, c.b, c.scores, ttl, SelectionRecords.gain(s.selections(), id, c.a.length, c.logDetGain));
    store.insertSelection(s.key(), record);
    s.selections().add(record);
    log.info("SelectBatch project '{}' {}: {} {} of {} candidates in {} ms ({}; model v{})",
        s.spec().id(), id, req.strategy(), req.batchSize(), c.numCandidates, wall / 1_000_000, c.phases,
        c.modelVersion);
    cache.logStats("SelectBatch " + id);
    SelectionLog.Entry entry = s.selections().entry(id);
    return SelectionRecords.info(s, entry, Map.of(), true);
  }
}
