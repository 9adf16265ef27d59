package dev.activerm.server.core.fit;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.FittedModel;
import dev.activerm.server.core.model.LaplacePosterior;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.project.ProjectState;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.locks.Lock;

/**
 * GetPoolUncertainty: how uncertain a model still is over its pool, as the Laplace posterior
 * variance of r_a - r_b (PairScore's reward_diff_stddev squared) over a seeded uniform sample
 * of pairs of live responses. Pairs rather than single responses because a Bradley–Terry
 * reward is identified only up to a constant; a fixed sample rather than every pair so the
 * cost is one feature pass and one triangular solve over at most 2 * numPairs rows.
 *
 * @param numPairs pairs sampled (0 when fewer than two live responses)
 */
public record PoolUncertainty(long modelVersion, int numPairs, double meanVariance, double medianVariance,
    double p90Variance, double maxVariance, double meanBernoulliVariance) {

  public static final int DEFAULT_PAIRS = 4096;
  public static final int MAX_PAIRS = 100_000;

  static int resolvePairs(int numPairs) {
    if (numPairs < 0 || numPairs > MAX_PAIRS) {
      throw ActiveRmException.invalid("num_pairs is " + numPairs + "; use 0.." + MAX_PAIRS + " (0 means "
          + DEFAULT_PAIRS + ")", new FieldViolation("num_pairs", "must be 0.." + MAX_PAIRS));
    }
    return numPairs == 0 ? DEFAULT_PAIRS : numPairs;
  }

  /** Samples the pairs under the read lock, then computes outside it. */
  static PoolUncertainty compute(ProjectState s, FittedModel fitted, LaplacePosterior posterior, int numPairs,
      long seed) {
    RewardModel model = fitted.model();
    PairRows touched;
    Lock l = s.readLock();
    try {
      int total = s.responses().size();
      int live = total - s.responses().numRetired();
      if (live < 2) {
        return new PoolUncertainty(fitted.version(), 0, 0, 0, 0, 0, 0);
      }
      SplittableRandom rng = new SplittableRandom(seed);
      int[] ra = new int[numPairs];
      int[] rb = new int[numPairs];
      for (int k = 0; k < numPairs; k++) {
        // Rejection keeps the draw uniform over ordered pairs of distinct live rows.
        int a;
        int b;
        do {
          a = rng.nextInt(total);
          b = rng.nextInt(total);
        } while (a == b || s.responses().isRetired(a) || s.responses().isRetired(b));
        ra[k] = a;
        rb[k] = b;
      }
      touched = PairRows.gather(s, ra, rb);
    } finally {
      l.unlock();
    }
    int h = model.featureDim();
    int numRows = touched.numRows();
    int[] pa = touched.a();
    int[] pb = touched.b();
    float[] phi = new float[numRows * h];
    model.features(touched.rows(), numRows, phi);
    double[] r = Rewards.ofFeatures(model, phi, h);
    double[] sd = posterior.differenceStddev(phi, numRows, pa, pb);
    double[] var = new double[numPairs];
    double sum = 0;
    double bern = 0;
    for (int k = 0; k < numPairs; k++) {
      var[k] = sd[k] * sd[k];
      sum += var[k];
      double p = BradleyTerry.sigmoid(r[pa[k]] - r[pb[k]]);
      bern += p * (1 - p);
    }
    double[] sorted = var.clone();
    Arrays.sort(sorted);
    PoolUncertainty u = new PoolUncertainty(fitted.version(), numPairs, sum / numPairs, quantile(sorted, 0.5),
        quantile(sorted, 0.9), sorted[numPairs - 1], bern / numPairs);
    if (!Double.isFinite(u.meanVariance) || !Double.isFinite(u.meanBernoulliVariance)) {
      throw ActiveRmException.failedPrecondition("GetPoolUncertainty: the posterior variance over the pool of project '"
          + s.spec().id() + "' is " + u.meanVariance + ": its embeddings are too large for the model. Rescale them"
          + " to O(1) values");
    }
    return u;
  }

  /** Linear interpolation between order statistics (numpy's default "linear" method). */
  static double quantile(double[] sorted, double q) {
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }
}
