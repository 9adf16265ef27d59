package dev.activerm.server.core.fit;

import dev.activerm.server.core.cache.CacheMetrics;
import dev.activerm.server.core.cache.DerivedStateCache;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.ComparisonSet;
import dev.activerm.server.core.model.FittedModel;
import dev.activerm.server.core.model.LaplacePosterior;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.project.RowResolver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;

/**
 * Score: rewards of stored or sent embeddings, and for pairs P(a beats b) with the Laplace
 * standard deviation of r_a - r_b. The Laplace factor is built only when a Score asks for
 * pairs, and lives in the server's derived-state cache (bounded by --cache-mib, shared with
 * SelectBatch): rebuilt from the store, never lost.
 */
public final class Scoring {
  static final String POSTERIOR_KIND = "laplace-posterior";

  private final ProjectRegistry registry;
  private final ModelVersions versions;
  private final DerivedStateCache cache;

  public Scoring(ProjectRegistry registry, ModelVersions versions, DerivedStateCache cache) {
    this.registry = registry;
    this.versions = versions;
    this.cache = cache;
  }

  /** The cache's Laplace factors, as metrics see them. */
  public CacheMetrics cacheMetrics() {
    return cache.metrics("posteriors", POSTERIOR_KIND);
  }

  public ScoreResult score(String projectId, ScoreQuery q) {
    ProjectState s = registry.require(projectId);
    int dim = s.spec().embeddingDim();
    q.check(s.spec());
    FittedModel fitted = versions.resolve(s, q.modelVersion());
    RewardModel model = fitted.model();

    int numPairs = q.pairA().size();
    float[] subjects;
    int numSubjects;
    PairRows touched;
    Lock l = s.readLock();
    try {
      if (q.embeddings() != null) {
        subjects = q.embeddings();
        numSubjects = q.embeddingRows();
      } else {
        int[] rows = RowResolver.rowsOrThrow(s, q.responseIds(), "response_ids.ids",
            "Score: response ids not in project '" + s.spec().id() + "'; add them with AddResponses, or send "
                + "embeddings instead to score responses that are not stored:");
        numSubjects = rows.length;
        subjects = new float[numSubjects * dim];
        for (int i = 0; i < rows.length; i++) {
          s.pool().copyRow(rows[i], subjects, i * dim);
        }
      }
      Violations missing = new Violations();
      int[] ra = RowResolver.rows(s, q.pairA(), "pairs", ".a_id", missing);
      int[] rb = RowResolver.rows(s, q.pairB(), "pairs", ".b_id", missing);
      missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
          "Score: pairs name responses that are not in project '" + projectId
              + "'; add them with AddResponses or fix the ids:");
      touched = PairRows.gather(s, ra, rb);
    } finally {
      l.unlock();
    }

    double[] rewards = Rewards.of(model, subjects, numSubjects);
    List<ScoreResult.Pair> pairs = new ArrayList<>(numPairs);
    if (numPairs > 0) {
      int h = model.featureDim();
      int numPairRows = touched.numRows();
      int[] pa = touched.a();
      int[] pb = touched.b();
      float[] phi = new float[numPairRows * h];
      model.features(touched.rows(), numPairRows, phi);
      double[] r = Rewards.ofFeatures(model, phi, h);
      LaplacePosterior posterior = posterior(s, fitted);
      double[] sd = posterior.differenceStddev(phi, numPairRows, pa, pb);
      for (int k = 0; k < numPairs; k++) {
        double p = BradleyTerry.sigmoid(r[pa[k]] - r[pb[k]]);
        pairs.add(new ScoreResult.Pair(q.pairA().get(k), q.pairB().get(k), p, sd[k]));
      }
    }
    checkFinite(projectId, rewards, pairs);
    return new ScoreResult(fitted.version(), rewards, pairs);
  }

  /**
   * GetPoolUncertainty: the Laplace variance of r_a - r_b over a seeded sample of pool pairs
   * (PoolUncertainty), with the same cached factor Score uses.
   */
  public PoolUncertainty poolUncertainty(String projectId, long modelVersion, int numPairs, long seed) {
    ProjectState s = registry.require(projectId);
    if (modelVersion < 0) {
      throw ActiveRmException.invalid("model_version is " + modelVersion + "; use 0 for the latest or a version >= 1",
          new dev.activerm.server.core.errors.FieldViolation("model_version", "must be >= 0"));
    }
    int n = PoolUncertainty.resolvePairs(numPairs);
    FittedModel fitted = versions.resolve(s, modelVersion);
    return PoolUncertainty.compute(s, fitted, posterior(s, fitted), n, seed);
  }

  /**
   * Embeddings within EmbeddingValues' bound give finite rewards; rows stored before the bound
   * existed may not, and a NaN is no answer.
   */
  private static void checkFinite(String projectId, double[] rewards, List<ScoreResult.Pair> pairs) {
    for (int i = 0; i < rewards.length; i++) {
      if (!Double.isFinite(rewards[i])) {
        throw ActiveRmException.failedPrecondition("Score: the reward of subject " + i + " is " + rewards[i]
            + ": its embedding is too large for the model of project '" + projectId
            + "'. Rescale the embeddings to O(1) values");
      }
    }
    for (int k = 0; k < pairs.size(); k++) {
      ScoreResult.Pair p = pairs.get(k);
      if (!Double.isFinite(p.probability()) || !Double.isFinite(p.rewardDiffStddev())) {
        throw ActiveRmException.failedPrecondition("Score: pair " + k + " ('" + p.aId() + "', '" + p.bId()
            + "') has probability " + p.probability() + " and stddev " + p.rewardDiffStddev()
            + ": the embeddings of project '" + projectId + "' are too large for the model. Rescale them to O(1)"
            + " values");
      }
    }
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
              + fitted.model().featureDim() + " Laplace factor of project '" + s.spec().id() + "' ("
              + (bytes >> 20) + " MiB), more than the derived-state cache holds (--cache-mib "
              + (cache.maxBytes() >> 20) + "); start the server with --cache-mib of at least "
              + ((bytes >> 20) + 1) + ", or score rewards without pairs");
    }
    // The posterior of a version uses the live labels it was fitted on: those below its seq
    // boundary. A delete changes that set, so the key carries the project's delete count.
    long seen = fitted.comparisonsSeen();
    long deletions;
    Lock read = s.readLock();
    try {
      deletions = s.comparisons().deletions();
    } finally {
      read.unlock();
    }
    return cache.get(new DerivedStateCache.Key(POSTERIOR_KIND, s.key(), fitted.version(), seen, deletions), () -> {
      ComparisonSet labeled;
      Lock l = s.readLock();
      try {
        labeled = ComparisonSnapshot.of(s, s.comparisons().countBelowSeq(seen));
      } finally {
        l.unlock();
      }
      return LaplacePosterior.build(fitted.model(), labeled, s.spec().l2());
    }, LaplacePosterior::bytes);
  }
}
