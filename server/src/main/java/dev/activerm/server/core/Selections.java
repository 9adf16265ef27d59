package dev.activerm.server.core;

import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.select.CandidateGenerator;
import dev.activerm.server.core.select.DerivedStateCache;
import dev.activerm.server.core.select.LongHashSet;
import dev.activerm.server.core.select.PairKeys;
import dev.activerm.server.core.select.PairList;
import dev.activerm.server.core.select.RowSource;
import dev.activerm.server.core.select.SelectionCancelledException;
import dev.activerm.server.core.select.Selector;
import dev.activerm.server.core.select.Strategy;
import dev.activerm.server.core.select.StrategyParams;
import dev.activerm.server.store.SelectionRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.LongPredicate;
import java.util.concurrent.locks.Lock;
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
  public static final int MAX_BATCH = 100_000;
  public static final long DEFAULT_MAX_CANDIDATES = 1_000_000;
  public static final long MAX_CANDIDATES = 100_000_000;
  public static final int MAX_EXPLICIT_PAIRS = 10_000_000;
  public static final int MAX_PROMPT_IDS = 1_000_000;

  private final ProjectRegistry registry;
  private final DerivedStateCache cache;

  public Selections(ProjectRegistry registry, long cacheBytes) {
    this(registry, new DerivedStateCache(cacheBytes));
  }

  /** Selections over a derived-state cache shared with the rest of the server. */
  public Selections(ProjectRegistry registry, DerivedStateCache cache) {
    this.registry = registry;
    this.cache = cache;
  }

  public DerivedStateCache cache() {
    return cache;
  }

  /** The derived-state cache as metrics see it. */
  public CacheMetrics cacheMetrics() {
    return new CacheMetrics() {
      @Override
      public String name() {
        return "derived_state";
      }

      @Override
      public long hits() {
        return cache.stats().hitCount();
      }

      @Override
      public long misses() {
        return cache.stats().missCount();
      }

      @Override
      public long evictions() {
        return cache.stats().evictionCount();
      }

      @Override
      public long entries() {
        return cache.entries();
      }

      @Override
      public long bytes() {
        return cache.bytes();
      }

      @Override
      public long maxBytes() {
        return cache.maxBytes();
      }
    };
  }

  /** numPrompts: distinct prompts the candidates were restricted to, 0 when not restricted. */
  private record Computed(long modelVersion, long numComparisons, long pendingVersion, long numCandidates,
      int numPrompts, int[] a, int[] b, double[] scores) {}

  public SelectionInfo select(SelectRequest req, BooleanSupplier cancelled) {
    long started = System.nanoTime();
    validate(req);
    ProjectState s = registry.require(req.projectId());
    log.info("project '{}': SelectBatch started ({}, batch {}, {} candidates{})", req.projectId(), req.strategy(),
        req.batchSize(), req.source(),
        req.promptIds().isEmpty() ? "" : " of " + req.promptIds().size() + " listed prompt ids");
    try {
      Computed c;
      Lock read = ProjectRegistry.readLock(s);
      try {
        c = compute(s, req, cancelled);
      } finally {
        read.unlock();
      }
      s.lock.writeLock().lock();
      try {
        ProjectRegistry.checkNotDeleted(s);
        if (!unchanged(s, c)) {
          log.debug("state of project '{}' changed during SelectBatch; recomputing under the write lock", req.projectId());
          c = compute(s, req, cancelled);
        }
        return commit(s, req, c, started);
      } finally {
        s.lock.writeLock().unlock();
      }
    } catch (SelectionCancelledException e) {
      log.info("project '{}': {} ({}) after {} ms; nothing stored", req.projectId(), e.getMessage(), req.strategy(),
          (System.nanoTime() - started) / 1_000_000);
      throw e;
    }
  }

  public SelectionInfo get(String projectId, String selectionId) {
    ProjectState s = registry.require(projectId);
    Identifiers.require("selection_id", selectionId);
    Lock l = ProjectRegistry.readLock(s);
    try {
      SelectionRecord r = s.selections.get(selectionId);
      if (r == null) {
        throw ActiveRmException.notFound(
            "selection '" + selectionId + "' does not exist in project '" + projectId
                + "'; use the selection_id returned by SelectBatch",
            new FieldViolation("selection_id", "no selection '" + selectionId + "'"));
      }
      return info(s, r);
    } finally {
      l.unlock();
    }
  }

  private static boolean unchanged(ProjectState s, Computed c) {
    RewardModel m = s.latestModel;
    long mv = m == null ? 0 : m.version();
    return s.comparisons.size() == c.numComparisons && s.selections.version() == c.pendingVersion
        && mv == c.modelVersion;
  }

  private static void validate(SelectRequest req) {
    Violations v = new Violations();
    if (req.batchSize() < 1 || req.batchSize() > MAX_BATCH) {
      v.add("batch_size", "is " + req.batchSize() + "; use 1.." + MAX_BATCH);
    }
    if (req.maxCandidates() < 0 || req.maxCandidates() > MAX_CANDIDATES) {
      v.add("max_candidates", "is " + req.maxCandidates() + "; use 0.." + MAX_CANDIDATES + " (0 means "
          + DEFAULT_MAX_CANDIDATES + ")");
    }
    if (req.modelVersion() < 0) {
      v.add("model_version", "is " + req.modelVersion() + "; use 0 (latest) or a version >= 1");
    }
    if (req.promptIds().size() > MAX_PROMPT_IDS) {
      v.add(req.promptIdsField(), "has " + req.promptIds().size() + " prompt ids; send 0.." + MAX_PROMPT_IDS
          + " (empty means every prompt of the project)");
    }
    if (req.source() == CandidateSource.EXPLICIT) {
      int n = req.explicitA().size();
      if (n == 0 || n > MAX_EXPLICIT_PAIRS) {
        v.add("candidates.explicit_pairs.pairs", "has " + n + " pairs; send 1.." + MAX_EXPLICIT_PAIRS);
      }
      for (int i = 0; i < n; i++) {
        if (req.explicitA().get(i).equals(req.explicitB().get(i))) {
          v.add("candidates.explicit_pairs.pairs[" + i + "].b_id",
              "equals a_id ('" + req.explicitA().get(i) + "'); a response cannot be compared with itself");
        }
      }
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid SelectBatch request:");
  }

  private Computed compute(ProjectState s, SelectRequest req, BooleanSupplier cancelled) {
    Strategy strategy = req.strategy();
    RewardModel model = s.latestModel;
    if (req.modelVersion() != 0) {
      long latest = model == null ? 0 : model.version();
      if (req.modelVersion() > latest) {
        throw ActiveRmException.notFound(
            "model_version " + req.modelVersion() + " does not exist in project '" + s.spec.id() + "' (latest: "
                + latest + "); pass 0 for the latest, or call Fit",
            new FieldViolation("model_version", "no version " + req.modelVersion()));
      }
      if (req.modelVersion() != latest) {
        throw ActiveRmException.failedPrecondition(
            "model_version " + req.modelVersion() + " is not the latest (" + latest
                + "); SelectBatch uses the latest model only: pass 0 or " + latest);
      }
    }
    if (strategy.needsModel() && model == null) {
      throw ActiveRmException.failedPrecondition(
          "strategy " + strategy + " needs a fitted reward model and project '" + s.spec.id()
              + "' has none; call Fit first (it has " + s.comparisons.size()
              + " comparisons), or use a model-free strategy (RANDOM, OLS_DOPT, CORESET)");
    }
    int poolRows = s.pool.size();
    long nComp = s.comparisons.size();
    long pendingVersion = s.selections.version();
    long cap = req.maxCandidates() == 0 ? DEFAULT_MAX_CANDIDATES : req.maxCandidates();

    LongHashSet labeledKeys = req.includeLabeled() ? null : cache.get(
        new DerivedStateCache.Key("labeled-keys", s.key, -1, nComp, 0),
        () -> {
          LongHashSet set = new LongHashSet((int) nComp);
          for (int i = 0; i < nComp; i++) {
            set.add(PairKeys.key(s.comparisons.aRow(i), s.comparisons.bRow(i)));
          }
          return set;
        },
        LongHashSet::bytes);
    boolean excludePending = !req.includePending();
    LongPredicate excluded = k -> (labeledKeys != null && labeledKeys.contains(k))
        || (excludePending && s.selections.isPending(k));
    long numExcluded = (labeledKeys == null ? 0 : labeledKeys.size()) + (excludePending ? s.selections.pendingCount() : 0);

    // Prompts the candidates are restricted to (null: every prompt).
    boolean[] allowedPrompt = allowedPrompts(s, req);
    int numPrompts = 0;
    if (allowedPrompt != null) {
      for (boolean allowed : allowedPrompt) {
        numPrompts += allowed ? 1 : 0;
      }
    }
    PairList candidates = switch (req.source()) {
      case EXPLICIT -> explicit(s, req, excluded, cap);
      case WITHIN_PROMPT -> {
        int[] promptOf = new int[poolRows];
        for (int r = 0; r < poolRows; r++) {
          int p = s.responses.promptIndex(r);
          promptOf[r] = allowedPrompt == null || allowedPrompt[p] ? p : -1;
        }
        yield CandidateGenerator.withinPrompt(
            poolRows, promptOf, s.responses.numPrompts(), cap, excluded, numExcluded, req.seed(), cancelled);
      }
      case CROSS_PROMPT -> allowedPrompt == null
          ? CandidateGenerator.crossPrompt(poolRows, cap, excluded, numExcluded, req.seed(), cancelled)
          : CandidateGenerator.crossPrompt(
              allowedRows(s, poolRows, allowedPrompt), cap, excluded, numExcluded, req.seed(), cancelled);
    };
    if (candidates.size() < req.batchSize()) {
      throw ActiveRmException.invalid(
          "batch_size " + req.batchSize() + " is larger than the " + candidates.size() + " candidate pairs ("
              + req.source() + (allowedPrompt == null ? "" : " of " + numPrompts + " prompts")
              + (req.includeLabeled() ? "" : ", labeled pairs excluded")
              + (req.includePending() ? "" : ", pending pairs excluded")
              + "); ask for at most " + candidates.size() + " pairs, add responses, or widen the candidates",
          new FieldViolation("batch_size", req.batchSize() + " > " + candidates.size() + " candidates"));
    }

    PairList labeled = new PairList(new int[0], new int[0]);
    double[] labeledWeights = new double[0];
    Selector.LabeledInformation labeledInfo = null;
    if (strategy.usesLabeled()) {
      long[] pend = s.selections.pendingKeys();
      int n = (int) nComp + pend.length;
      int[] la = new int[n];
      int[] lb = new int[n];
      labeledWeights = new double[n];
      for (int i = 0; i < nComp; i++) {
        la[i] = s.comparisons.aRow(i);
        lb[i] = s.comparisons.bRow(i);
        labeledWeights[i] = s.comparisons.weight(i);
      }
      for (int i = 0; i < pend.length; i++) {
        la[(int) nComp + i] = PairKeys.lo(pend[i]);
        lb[(int) nComp + i] = PairKeys.hi(pend[i]);
        labeledWeights[(int) nComp + i] = 1.0;
      }
      labeled = new PairList(la, lb);
    }
    RowSource rows = rowSource(s);
    RewardModel used = strategy == Strategy.RANDOM ? null : model;
    Selector.Input input = new Selector.Input(rows, used, candidates, labeled, labeledWeights, s.spec.l2(), strategy,
        req.params().resolve(), req.seed(), req.batchSize(), cancelled, null);
    if (strategy.usesLabeled()) {
      Selector.Input base = input;
      labeledInfo = cache.get(
          new DerivedStateCache.Key("labeled-information", s.key, model.version(), nComp, pendingVersion),
          () -> Selector.labeledInformation(base),
          Selector.LabeledInformation::bytes);
      input = new Selector.Input(rows, used, candidates, labeled, labeledWeights, s.spec.l2(), strategy,
          req.params().resolve(), req.seed(), req.batchSize(), cancelled, labeledInfo);
    }
    Selector.Result result = Selector.select(input);
    int[] a = new int[result.index().length];
    int[] b = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = candidates.a()[result.index()[i]];
      b[i] = candidates.b()[result.index()[i]];
    }
    return new Computed(model == null ? 0 : model.version(), nComp, pendingVersion, candidates.size(), numPrompts,
        a, b, result.score());
  }

  /**
   * The request's prompt_ids as a flag per dense prompt index, or null when it lists none
   * (every prompt). An id no response of the project answers is NOT_FOUND.
   */
  private static boolean[] allowedPrompts(ProjectState s, SelectRequest req) {
    List<String> ids = req.promptIds();
    if (ids.isEmpty()) {
      return null;
    }
    boolean[] allowed = new boolean[s.responses.numPrompts()];
    Violations missing = new Violations();
    for (int i = 0; i < ids.size(); i++) {
      int p = s.responses.promptIndexOf(ids.get(i));
      if (p < 0) {
        missing.add(req.promptIdsField() + "[" + i + "]",
            "'" + ids.get(i) + "' is the prompt of no response in project '" + s.spec.id() + "'");
      } else {
        allowed[p] = true;
      }
    }
    missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
        "SelectBatch restricts the candidates to prompts that no response of project '" + s.spec.id()
            + "' answers; add responses to them with AddResponses first, or leave them out of "
            + req.promptIdsField() + ":");
    return allowed;
  }

  /** Pool rows (ascending) whose prompt is allowed. */
  private static int[] allowedRows(ProjectState s, int poolRows, boolean[] allowedPrompt) {
    int n = 0;
    for (int r = 0; r < poolRows; r++) {
      n += allowedPrompt[s.responses.promptIndex(r)] ? 1 : 0;
    }
    int[] rows = new int[n];
    n = 0;
    for (int r = 0; r < poolRows; r++) {
      if (allowedPrompt[s.responses.promptIndex(r)]) {
        rows[n++] = r;
      }
    }
    return rows;
  }

  private static PairList explicit(ProjectState s, SelectRequest req, LongPredicate excluded, long cap) {
    Violations missing = new Violations();
    int n = req.explicitA().size();
    int[] a = new int[n];
    int[] b = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = s.responses.rowOf(req.explicitA().get(i));
      b[i] = s.responses.rowOf(req.explicitB().get(i));
      if (a[i] < 0) {
        missing.add("candidates.explicit_pairs.pairs[" + i + "].a_id",
            "'" + req.explicitA().get(i) + "' is not a response of project '" + s.spec.id() + "'");
      }
      if (b[i] < 0) {
        missing.add("candidates.explicit_pairs.pairs[" + i + "].b_id",
            "'" + req.explicitB().get(i) + "' is not a response of project '" + s.spec.id() + "'");
      }
    }
    missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
        "SelectBatch names responses that are not in project '" + s.spec.id() + "'; add them with AddResponses first:");
    // Drop duplicates (first occurrence wins, orientation as given) and excluded pairs.
    LongHashSet seen = new LongHashSet(n);
    int m = 0;
    for (int i = 0; i < n; i++) {
      long k = PairKeys.key(a[i], b[i]);
      if (!excluded.test(k) && seen.add(k)) {
        a[m] = a[i];
        b[m] = b[i];
        m++;
      }
    }
    if (m > cap) {
      int[] idx = CandidateGenerator.sampleIndices(m, (int) cap, req.seed());
      Arrays.sort(idx);
      int[] ca = new int[idx.length];
      int[] cb = new int[idx.length];
      for (int i = 0; i < idx.length; i++) {
        ca[i] = a[idx[i]];
        cb[i] = b[idx[i]];
      }
      return new PairList(ca, cb);
    }
    return new PairList(Arrays.copyOf(a, m), Arrays.copyOf(b, m));
  }

  static RowSource rowSource(ProjectState s) {
    EmbeddingPool pool = s.pool;
    return new RowSource() {
      @Override
      public int rows() {
        return pool.size();
      }

      @Override
      public int dim() {
        return pool.dim();
      }

      @Override
      public void copyRow(int row, float[] dst, int offset) {
        pool.copyRow(row, dst, offset);
      }
    };
  }

  private SelectionInfo commit(ProjectState s, SelectRequest req, Computed c, long started) {
    int seq = s.selections.nextSeq();
    String id = "sel-" + seq;
    long wall = System.nanoTime() - started;
    SelectionRecord record = new SelectionRecord(
        seq, id, c.modelVersion, req.strategy().name(), encode(req, c.numPrompts), req.seed(), req.batchSize(),
        c.numCandidates, (int) c.numComparisons, registry.clock().millis(), wall, c.a, c.b, c.scores);
    registry.store().insertSelection(s.key, record);
    s.selections.add(record, s.comparisons);
    log.info("SelectBatch project '{}' {}: {} {} of {} candidates in {} ms (model v{})",
        s.spec.id(), id, req.strategy(), req.batchSize(), c.numCandidates, wall / 1_000_000, c.modelVersion);
    cache.logStats("SelectBatch " + id);
    return info(s, record);
  }

  /**
   * The request's knobs as stored with the selection. A prompt restriction is recorded as
   * its count of distinct prompts only ("num_prompts", absent when not restricted and in
   * records written before it existed), so a million prompt ids do not bloat the record.
   */
  static String encode(SelectRequest req, int numPrompts) {
    StrategyParams p = req.params().resolve();
    Map<String, String> m = new LinkedHashMap<>();
    m.put("candidates", req.source().name());
    if (numPrompts > 0) {
      m.put("num_prompts", Integer.toString(numPrompts));
    }
    m.put("max_candidates", Long.toString(req.maxCandidates() == 0 ? DEFAULT_MAX_CANDIDATES : req.maxCandidates()));
    m.put("include_labeled", Boolean.toString(req.includeLabeled()));
    m.put("include_pending", Boolean.toString(req.includePending()));
    m.put("ridge", Double.toString(p.ridge()));
    m.put("coreset_clusters", Integer.toString(p.coresetClusters()));
    m.put("coreset_radius", Double.toString(p.coresetRadius()));
    m.put("posterior_samples", Integer.toString(p.posteriorSamples()));
    m.put("batchbald_pool", Integer.toString(p.batchBaldPool()));
    m.put("batchbald_configurations", Integer.toString(p.batchBaldConfigurations()));
    StringBuilder sb = new StringBuilder();
    m.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ";").append(k).append('=').append(v));
    return sb.toString();
  }

  private static Map<String, String> decode(String s) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String part : s.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        m.put(part.substring(0, eq), part.substring(eq + 1));
      }
    }
    return m;
  }

  private static SelectionInfo info(ProjectState s, SelectionRecord r) {
    List<String> a = new ArrayList<>(r.aRows().length);
    List<String> b = new ArrayList<>(r.aRows().length);
    for (int i = 0; i < r.aRows().length; i++) {
      a.add(s.responses.id(r.aRows()[i]));
      b.add(s.responses.id(r.bRows()[i]));
    }
    Map<String, String> m = decode(r.parameters());
    StrategyParams params = new StrategyParams(
        Double.parseDouble(m.getOrDefault("ridge", "0")),
        Integer.parseInt(m.getOrDefault("coreset_clusters", "0")),
        Double.parseDouble(m.getOrDefault("coreset_radius", "0")),
        Integer.parseInt(m.getOrDefault("posterior_samples", "0")),
        Integer.parseInt(m.getOrDefault("batchbald_pool", "0")),
        Integer.parseInt(m.getOrDefault("batchbald_configurations", "0")));
    return new SelectionInfo(
        r.selectionId(), r.modelVersion(), Strategy.valueOf(r.strategy()), r.seed(), r.batchSize(), r.numCandidates(),
        a, b, r.scores().clone(), Instant.ofEpochMilli(r.createTimeMillis()), Duration.ofNanos(r.wallTimeNanos()),
        CandidateSource.valueOf(m.getOrDefault("candidates", "CROSS_PROMPT")),
        Long.parseLong(m.getOrDefault("num_prompts", "0")),
        Long.parseLong(m.getOrDefault("max_candidates", "0")),
        Boolean.parseBoolean(m.getOrDefault("include_labeled", "false")),
        Boolean.parseBoolean(m.getOrDefault("include_pending", "false")),
        params);
  }
}
