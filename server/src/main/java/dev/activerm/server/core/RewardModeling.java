package dev.activerm.server.core;

import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.ComparisonSet;
import dev.activerm.server.core.model.FitCancelledException;
import dev.activerm.server.core.model.FitReport;
import dev.activerm.server.core.model.LaplacePosterior;
import dev.activerm.server.core.model.LinearBtFitter;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.model.MlpNetwork;
import dev.activerm.server.core.model.MlpRewardModel;
import dev.activerm.server.core.model.MlpTrainer;
import dev.activerm.server.core.model.ModelCodec;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.select.DerivedStateCache;
import dev.activerm.server.store.ModelRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fit and Score: trains a project's Bradley–Terry head on its comparisons, stores each
 * model version durably before publishing it as the project's latest, and answers rewards,
 * preference probabilities and Laplace uncertainties.
 *
 * <p>A Fit copies the comparisons and the rows they touch under the project's read lock,
 * trains without any project lock (fits of one project run one at a time), then stores the
 * version and publishes it under the write lock. A Fit forms nothing D x D. The Laplace
 * factor is built only when a Score asks for pair uncertainties, and it and non-latest
 * versions live in the server's derived-state cache (bounded by --cache-mib, shared with
 * SelectBatch): rebuilt from the store, never lost.
 */
public final class RewardModeling {
  private static final Logger log = LoggerFactory.getLogger(RewardModeling.class);
  public static final int MAX_SCORE_ROWS = 100_000;
  public static final int MAX_SCORE_PAIRS = 1_000_000;
  private static final String MODEL_KIND = "model";
  private static final String POSTERIOR_KIND = "laplace-posterior";

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final Map<Long, Object> fitLocks = new ConcurrentHashMap<>();
  /** The latest version of each project, with its report (state.latestModel holds the same model). */
  private final Map<Long, FittedModel> latest = new ConcurrentHashMap<>();
  private final DerivedStateCache cache;

  private RewardModeling(ProjectRegistry registry, DerivedStateCache cache) {
    this.registry = registry;
    this.store = registry.store();
    this.cache = cache;
  }

  /**
   * Loads the latest model of every project (and drops models of deleted projects); older
   * versions and Laplace factors go to cache.
   */
  public static RewardModeling load(ProjectRegistry registry, DerivedStateCache cache) {
    RewardModeling modeling = new RewardModeling(registry, cache);
    int orphans = modeling.store.deleteOrphanModels();
    int loaded = 0;
    for (ProjectState s : registry.states()) {
      ModelRecord r = modeling.store.loadModel(s.key, 0);
      if (r != null) {
        FittedModel m = fromRecord(r);
        modeling.latest.put(s.key, m);
        s.latestModel = m.model();
        loaded++;
      }
    }
    registry.onDelete(modeling::forget);
    log.info("loaded the latest model of {} projects{}", loaded,
        orphans > 0 ? " (removed " + orphans + " models of deleted projects)" : "");
    return modeling;
  }

  /**
   * Metrics views of the shared derived-state cache's two kinds this class keeps there
   * (non-latest model versions, Laplace posterior factors); the bound is the shared one.
   */
  /** A deleted project's latest model and fit lock (its cached state goes with the cache's own listener). */
  private void forget(long projectKey) {
    latest.remove(projectKey);
    fitLocks.remove(projectKey);
  }

  /** Latest models held in memory: one per project that has been fitted. */
  public int modelsInMemory() {
    return latest.size();
  }

  public List<CacheMetrics> caches() {
    return List.of(view("model_versions", MODEL_KIND), view("posteriors", POSTERIOR_KIND));
  }

  private CacheMetrics view(String name, String kind) {
    return new CacheMetrics() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public long hits() {
        return cache.hits(kind);
      }

      @Override
      public long misses() {
        return cache.misses(kind);
      }

      @Override
      public long evictions() {
        return cache.evictions(kind);
      }

      @Override
      public long entries() {
        return cache.entries(kind);
      }

      @Override
      public long bytes() {
        return cache.bytes(kind);
      }

      @Override
      public long maxBytes() {
        return cache.maxBytes();
      }
    };
  }

  // ---------------------------------------------------------------- Fit

  /** Fits a new model version on all the project's comparisons and publishes it. */
  public FittedModel fit(String projectId, FitSettings settings) {
    return fit(projectId, settings, () -> false);
  }

  /**
   * As above; cancelled (the caller's deadline or cancellation, supplied by the api layer) is
   * polled before training, during it (every Newton step or minibatch) and once more just
   * before the version is stored. A cancelled fit throws {@link FitCancelledException} and
   * stores nothing.
   */
  public FittedModel fit(String projectId, FitSettings settings, BooleanSupplier cancelled) {
    ProjectState s = registry.require(projectId);
    synchronized (fitLocks.computeIfAbsent(s.key, k -> new Object())) {
      long start = System.nanoTime();
      try {
        return fitLocked(s, projectId, settings, cancelled, start);
      } catch (FitCancelledException e) {
        log.info("project '{}': {} after {} ms; nothing stored", projectId, e.getMessage(),
            (System.nanoTime() - start) / 1_000_000);
        throw e;
      }
    }
  }

  private FittedModel fitLocked(
      ProjectState s, String projectId, FitSettings settings, BooleanSupplier cancelled, long start) {
    FitCancelledException.check(cancelled, "the wait for an earlier Fit of the project");
    HeadType head = s.spec.head().type();
    boolean validation = head == HeadType.MLP && settings.mlp().validationFraction() > 0;
    int needed = validation ? 2 : 1;
    ComparisonSet data;
    FittedModel previous;
    Lock l = ProjectRegistry.readLock(s);
    try {
      int count = s.comparisons.size();
      if (count < needed) {
        throw ActiveRmException.failedPrecondition(
            "project '" + projectId + "' has " + count + " comparisons; Fit needs at least " + needed
                + (validation ? " (one to train on and one to hold out, since mlp.validation_fraction > 0)" : "")
                + ". Add labeled pairs with AddComparisons, then call Fit again");
      }
      data = snapshot(s, count);
      previous = latest.get(s.key);
    } finally {
      l.unlock();
    }
    log.info("project '{}': Fit started ({}, {} comparisons)", projectId, head, data.size());
    RewardModel trained;
    FitReport report;
    if (head == HeadType.LINEAR) {
      double[] startW = settings.warmStart() && previous != null
          && previous.model() instanceof LinearRewardModel p ? p.weights() : null;
      LinearBtFitter.Result r = new LinearBtFitter(data, s.spec.l2(), cancelled).fit(settings.linear(), startW);
      trained = new LinearRewardModel(0, r.weights());
      report = r.report();
    } else {
      MlpNetwork startNet = settings.warmStart() && previous != null
          && previous.model() instanceof MlpRewardModel p ? p.network() : null;
      MlpTrainer.Result r = MlpTrainer.fit(
          data, s.spec.head().hiddenSizes(), s.spec.l2(), settings.mlp(), settings.seed(), startNet, cancelled);
      trained = new MlpRewardModel(0, r.network());
      report = r.report();
    }
    report = report.withWallNanos(System.nanoTime() - start);
    s.lock.writeLock().lock();
    try {
      FitCancelledException.check(cancelled, "the wait to store the new version");
      ProjectRegistry.checkNotDeleted(s);
      long version = previous == null ? 1 : previous.version() + 1;
      RewardModel model = withVersion(trained, version);
      Instant now = Instant.ofEpochMilli(registry.clock().millis());
      FittedModel fitted = new FittedModel(model, head, report, data.size(), now);
      store.insertModel(toRecord(s.key, fitted));
      latest.put(s.key, fitted);
      s.latestModel = model;
      log.info("project '{}': fitted model version {} ({}, {} comparisons, loss {}, {} iterations, {} ms)",
          projectId, version, head, data.size(), report.loss(), report.iterations(), report.wallNanos() / 1_000_000);
      return fitted;
    } finally {
      s.lock.writeLock().unlock();
    }
  }

  private static RewardModel withVersion(RewardModel m, long version) {
    if (m instanceof LinearRewardModel l) {
      return new LinearRewardModel(version, l.weights());
    }
    return new MlpRewardModel(version, ((MlpRewardModel) m).network());
  }

  /** The first count comparisons and the pool rows they touch. Caller holds the read lock. */
  private static ComparisonSet snapshot(ProjectState s, int count) {
    int dim = s.spec.embeddingDim();
    int[] compact = new int[s.pool.size()];
    Arrays.fill(compact, -1);
    int[] a = new int[count];
    int[] b = new int[count];
    double[] y = new double[count];
    double[] w = new double[count];
    int used = 0;
    for (int k = 0; k < count; k++) {
      int ar = s.comparisons.aRow(k);
      int br = s.comparisons.bRow(k);
      if (compact[ar] < 0) {
        compact[ar] = used++;
      }
      if (compact[br] < 0) {
        compact[br] = used++;
      }
      a[k] = compact[ar];
      b[k] = compact[br];
      y[k] = s.comparisons.outcome(k).targetForA();
      w[k] = s.comparisons.weight(k);
    }
    float[] rows = new float[Math.multiplyExact(used, dim)];
    for (int r = 0; r < compact.length; r++) {
      if (compact[r] >= 0) {
        s.pool.copyRow(r, rows, compact[r] * dim);
      }
    }
    return new ComparisonSet(rows, dim, a, b, y, w);
  }

  // ---------------------------------------------------------------- Score

  public ScoreResult score(String projectId, ScoreQuery q) {
    ProjectState s = registry.require(projectId);
    int dim = s.spec.embeddingDim();
    checkQuery(s, q);
    FittedModel fitted = resolve(s, q.modelVersion());
    RewardModel model = fitted.model();

    int numPairs = q.pairA().size();
    float[] subjects;
    int numSubjects;
    float[] pairRows;
    int[] pa = new int[numPairs];
    int[] pb = new int[numPairs];
    int numPairRows;
    Lock l = ProjectRegistry.readLock(s);
    try {
      if (q.embeddings() != null) {
        subjects = q.embeddings();
        numSubjects = q.embeddingRows();
      } else {
        int[] rows = rowsOf(s, q.responseIds(), "response_ids.ids", null);
        numSubjects = rows.length;
        subjects = new float[numSubjects * dim];
        for (int i = 0; i < rows.length; i++) {
          s.pool.copyRow(rows[i], subjects, i * dim);
        }
      }
      Violations missing = new Violations();
      int[] ra = rowsOf(s, q.pairA(), "pairs", ".a_id", missing);
      int[] rb = rowsOf(s, q.pairB(), "pairs", ".b_id", missing);
      missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
          "Score: pairs name responses that are not in project '" + projectId
              + "'; add them with AddResponses or fix the ids:");
      Map<Integer, Integer> compact = new java.util.HashMap<>();
      for (int k = 0; k < numPairs; k++) {
        pa[k] = compact.computeIfAbsent(ra[k], r -> compact.size());
        pb[k] = compact.computeIfAbsent(rb[k], r -> compact.size());
      }
      numPairRows = compact.size();
      pairRows = new float[numPairRows * dim];
      for (Map.Entry<Integer, Integer> e : compact.entrySet()) {
        s.pool.copyRow(e.getKey(), pairRows, e.getValue() * dim);
      }
    } finally {
      l.unlock();
    }

    double[] rewards = rewards(model, subjects, numSubjects);
    List<ScoreResult.Pair> pairs = new ArrayList<>(numPairs);
    if (numPairs > 0) {
      int h = model.featureDim();
      float[] phi = new float[numPairRows * h];
      model.features(pairRows, numPairRows, phi);
      double[] r = LinearBtFitter.rowDots(phi, h, model.lastLayer());
      LaplacePosterior posterior = posterior(s, fitted);
      double[] sd = posterior.differenceStddev(phi, numPairRows, pa, pb);
      for (int k = 0; k < numPairs; k++) {
        double p = BradleyTerry.sigmoid(r[pa[k]] - r[pb[k]]);
        pairs.add(new ScoreResult.Pair(q.pairA().get(k), q.pairB().get(k), p, sd[k]));
      }
    }
    return new ScoreResult(fitted.version(), rewards, pairs);
  }

  /** The latest model, or a stored version; FAILED_PRECONDITION before any Fit, NOT_FOUND for unknown versions. */
  FittedModel resolve(ProjectState s, long version) {
    FittedModel newest = latest.get(s.key);
    if (newest == null || s.latestModel == null) {
      throw ActiveRmException.failedPrecondition(
          "project '" + s.spec.id() + "' has no fitted model yet; call Fit first (it needs at least one comparison,"
              + " added with AddComparisons)");
    }
    if (version == 0 || version == newest.version()) {
      return newest;
    }
    if (version > newest.version()) {
      throw noSuchVersion(s, version, newest);
    }
    return cache.get(
        new DerivedStateCache.Key(MODEL_KIND, s.key, version, 0, 0),
        () -> {
          ModelRecord r = store.loadModel(s.key, version);
          if (r == null) {
            throw noSuchVersion(s, version, newest); // not cached: Caffeine drops a failed load
          }
          return fromRecord(r);
        },
        m -> 8L * m.model().inputDim() * m.model().featureDim() + 8L * m.model().featureDim() + 256);
  }

  private static ActiveRmException noSuchVersion(ProjectState s, long version, FittedModel newest) {
    return ActiveRmException.notFound(
        "model version " + version + " does not exist in project '" + s.spec.id() + "'; versions run 1.."
            + newest.version() + " (0 means the latest)",
        new FieldViolation("model_version", "no version " + version));
  }

  /**
   * The Laplace factor of a model version, built on first use and cached. RESOURCE_EXHAUSTED
   * when its h x h factor alone would not fit in the cache (building it needs about three
   * times that).
   */
  private LaplacePosterior posterior(ProjectState s, FittedModel fitted) {
    long bytes = LaplacePosterior.bytes(fitted.model().featureDim());
    if (bytes > cache.maxBytes()) {
      throw ActiveRmException.resourceExhausted(
          "Score: the uncertainty of pairs needs the " + fitted.model().featureDim() + " x "
              + fitted.model().featureDim() + " Laplace factor of project '" + s.spec.id() + "' ("
              + (bytes >> 20) + " MiB), more than the derived-state cache holds (--cache-mib "
              + (cache.maxBytes() >> 20) + "); start the server with --cache-mib of at least "
              + ((bytes >> 20) + 1) + ", or score rewards without pairs");
    }
    long seen = fitted.comparisonsSeen();
    return cache.get(new DerivedStateCache.Key(POSTERIOR_KIND, s.key, fitted.version(), seen, 0), () -> {
      ComparisonSet labeled;
      Lock l = ProjectRegistry.readLock(s);
      try {
        labeled = snapshot(s, (int) Math.min(fitted.comparisonsSeen(), s.comparisons.size()));
      } finally {
        l.unlock();
      }
      return LaplacePosterior.build(fitted.model(), labeled, s.spec.l2());
    }, LaplacePosterior::bytes);
  }

  /** r = w^T phi(x) for n rows of x, in double. */
  public static double[] rewards(RewardModel model, float[] x, int n) {
    if (model instanceof LinearRewardModel lin) {
      return LinearBtFitter.rowDots(x, model.inputDim(), lin.weights());
    }
    int h = model.featureDim();
    float[] phi = new float[n * h];
    model.features(x, n, phi);
    return LinearBtFitter.rowDots(phi, h, model.lastLayer());
  }

  private static void checkQuery(ProjectState s, ScoreQuery q) {
    int dim = s.spec.embeddingDim();
    Violations v = new Violations();
    if (q.modelVersion() < 0) {
      v.add("model_version", "is " + q.modelVersion() + "; use a version >= 1, or 0 for the latest");
    }
    if (q.embeddings() != null) {
      if (q.embeddingRows() > 0 && q.embeddingCols() != dim) {
        v.add("embeddings.cols", "is " + q.embeddingCols() + " but project '" + s.spec.id()
            + "' has embedding_dim " + dim + "; send rows of length " + dim);
      }
      if (q.embeddingRows() > MAX_SCORE_ROWS) {
        v.add("embeddings.rows", "is " + q.embeddingRows() + "; score at most " + MAX_SCORE_ROWS + " rows per call");
      }
      float[] x = q.embeddings();
      for (int i = 0; i < x.length && v.isEmpty(); i++) {
        if (!Float.isFinite(x[i])) {
          v.add("embeddings.data", "row " + (i / Math.max(1, q.embeddingCols())) + ", column "
              + (i % Math.max(1, q.embeddingCols())) + " is " + x[i] + "; send finite values only");
        }
      }
    } else if (q.responseIds().size() > MAX_SCORE_ROWS) {
      v.add("response_ids.ids", "has " + q.responseIds().size() + " ids; score at most " + MAX_SCORE_ROWS + " per call");
    }
    if (q.pairA().size() > MAX_SCORE_PAIRS) {
      v.add("pairs", "has " + q.pairA().size() + " pairs; at most " + MAX_SCORE_PAIRS + " per call");
    }
    for (int k = 0; k < q.pairA().size() && k < MAX_SCORE_PAIRS; k++) {
      String a = q.pairA().get(k);
      String b = q.pairB().get(k);
      String pa = Identifiers.problem(a);
      String pb = Identifiers.problem(b);
      if (pa != null) {
        v.add("pairs[" + k + "].a_id", pa);
      }
      if (pb != null) {
        v.add("pairs[" + k + "].b_id", pb);
      }
    }
    int subjects = q.embeddings() != null ? q.embeddingRows() : q.responseIds().size();
    if (v.isEmpty() && subjects == 0 && q.pairA().isEmpty()) {
      v.add("subject", "nothing to score: send response_ids, embeddings or pairs");
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid Score request:");
  }

  private static int[] rowsOf(ProjectState s, List<String> ids, String field, Violations shared) {
    return rowsOf(s, ids, field, "", shared);
  }

  private static int[] rowsOf(ProjectState s, List<String> ids, String field, String suffix, Violations shared) {
    Violations v = shared == null ? new Violations() : shared;
    int[] rows = new int[ids.size()];
    for (int i = 0; i < ids.size(); i++) {
      rows[i] = s.responses.rowOf(ids.get(i));
      if (rows[i] < 0) {
        v.add(field + "[" + i + "]" + suffix, "'" + ids.get(i) + "' is not a response of project '" + s.spec.id() + "'");
      }
    }
    if (shared == null) {
      v.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
          "Score: response ids not in project '" + s.spec.id() + "'; add them with AddResponses, or send "
              + "embeddings instead to score responses that are not stored:");
    }
    return rows;
  }

  // ---------------------------------------------------------------- records

  private static ModelRecord toRecord(long key, FittedModel f) {
    FitReport r = f.report();
    return new ModelRecord(
        key, f.version(), f.headType().name(), ModelCodec.layerSizes(f.model()), ModelCodec.encode(f.model()),
        r.loss(), r.iterations(), r.gradientNorm(), r.converged(), r.trainAccuracy(), r.validationAccuracy(),
        r.wallNanos(), r.numComparisons(), f.comparisonsSeen(), f.createTime().toEpochMilli());
  }

  private static FittedModel fromRecord(ModelRecord r) {
    RewardModel model = ModelCodec.decode(r.version(), r.layerSizes(), r.params());
    FitReport report = new FitReport(
        r.loss(), r.iterations(), r.gradientNorm(), r.converged(), r.trainAccuracy(), r.validationAccuracy(),
        r.wallNanos(), r.numComparisons());
    return new FittedModel(model, HeadType.valueOf(r.headType()), report, r.comparisonsSeen(),
        Instant.ofEpochMilli(r.createTimeMillis()));
  }
}
