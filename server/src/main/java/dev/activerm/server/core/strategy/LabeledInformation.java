package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.LaplacianGram;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.pairs.PairList;

/**
 * lambda I + F(labeled) (h x h, row-major) with its lower Cholesky factor: the information
 * the labeled and pending pairs already carry, shared by PAST_AWARE_DOPT, GREEDY_DOPT, the
 * BALD family and ExportSelectionState, cached per (model version, labels, pending set).
 *
 * <p>The factor is computed on first use of {@link #factor}, once: PAST_AWARE_DOPT only adds
 * the matrix to F(candidates) and never needs it, and at h = 4 096 it is an h^3 / 3 Cholesky.
 * A matrix that is not positive definite fails there, with the same FAILED_PRECONDITION as
 * when the factor was computed up front, every time it is asked for.
 */
public final class LabeledInformation {
  private final int h;
  private final double[] matrix;
  private final double lambda;
  private volatile double[] factor;
  private volatile boolean notPositiveDefinite;

  /** A matrix whose factor is already known. */
  public LabeledInformation(int h, double[] matrix, double[] factor) {
    this(h, matrix, Double.NaN, factor);
  }

  private LabeledInformation(int h, double[] matrix, double lambda, double[] factor) {
    this.h = h;
    this.matrix = matrix;
    this.lambda = lambda;
    this.factor = factor;
  }

  public int h() {
    return h;
  }

  /** lambda I + F(labeled), h x h row-major (shared: do not change it). */
  public double[] matrix() {
    return matrix;
  }

  /**
   * The lower Cholesky factor of {@link #matrix} (shared: do not change it), computed on the
   * first call; FAILED_PRECONDITION when the matrix is not positive definite.
   */
  public double[] factor() {
    double[] l = factor;
    if (l != null) {
      return l;
    }
    synchronized (this) {
      if (factor == null && !notPositiveDefinite) {
        factor = DenseMatrices.choleskyLower(matrix, h);
        notPositiveDefinite = factor == null;
      }
      if (notPositiveDefinite) {
        throw Features.notPositiveDefinite(matrix, h, "lambda I + F(labeled) with lambda = " + lambda,
            "the features of the labeled responses are too large for the prior precision: rescale the embeddings"
            + " to O(1) values (or create the project with a larger l2)");
      }
      return factor;
    }
  }

  /** The factor if {@link #factor} has computed it, else null (tests). */
  double[] factorIfComputed() {
    return factor;
  }

  /** What a cache holds for it: the matrix and (once computed) its factor. */
  public long bytes() {
    return 16L * h * h + 64;
  }

  /** From the input's labeled pairs, v from the model (comparison weight times v per entry). */
  public static LabeledInformation compute(StrategyInput in) {
    RewardModel m = in.model();
    int h = m.featureDim();
    double[] f = new double[h * h];
    PairList lab = in.labeled();
    if (lab.size() > 0) {
      Touched t = Touched.of(in.pool().rows(), lab);
      float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
      double[] v = BradleyTerry.clippedVariance(
          Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), t.localA[0], t.localB[0]));
      for (int k = 0; k < v.length; k++) {
        v[k] *= in.labeledWeights()[k];
      }
      LaplacianGram.accumulate(phi, t.size(), h, t.localA[0], t.localB[0], v, f, in.cancelled());
    }
    DenseMatrices.addDiagonal(f, h, in.lambda());
    // lambda > 0 keeps lambda I + F positive definite unless the features are so large that
    // F's double rounding exceeds lambda (embeddings stored before AddResponses bounded them).
    return new LabeledInformation(h, f, in.lambda(), null);
  }
}
