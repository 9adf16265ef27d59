package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.LaplacianGram;
import dev.activerm.server.core.linalg.Whitening;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import java.util.Arrays;

/**
 * The paper's top-B designs: score v_k z_k^T (eps I + F(cand) [+ F(labeled)])^-1 z_k and take
 * the top b. OLS_DOPT sets v = 1; DOPT uses F(cand); PAST_AWARE_DOPT adds F(labeled).
 */
public final class DesignStrategy implements SelectionStrategy {
  /** Which information matrix and weights the design uses. */
  enum Kind {
    OLS,
    FISHER,
    PAST_AWARE
  }

  private final Kind kind;

  DesignStrategy(Kind kind) {
    this.kind = kind;
  }

  @Override
  public StrategyResult select(StrategyInput in, int b) {
    return StrategyResult.top(scores(in), b);
  }

  /** The score of every candidate (in.strategy() must be OLS_DOPT, DOPT or PAST_AWARE_DOPT). */
  public static double[] scores(StrategyInput in) {
    return ((DesignStrategy) in.strategy().implementation()).score(in);
  }

  private double[] score(StrategyInput in) {
    RewardModel m = in.model();
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    int[] ia = t.localA[0];
    int[] ib = t.localB[0];
    int h = m == null ? in.pool().dim() : m.featureDim();
    float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
    double[] v;
    if (kind == Kind.OLS) {
      v = new double[ia.length];
      Arrays.fill(v, 1.0);
    } else {
      v = BradleyTerry.clippedVariance(Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), ia, ib));
    }
    double[] f = new double[h * h];
    LaplacianGram.accumulate(phi, t.size(), h, ia, ib, v, f, in.cancelled());
    if (kind == Kind.PAST_AWARE) {
      LabeledInformation li = in.labeledInformation();
      for (int i = 0; i < h * h; i++) {
        f[i] += li.matrix()[i];
      }
      DenseMatrices.addDiagonal(f, h, -in.lambda());
    }
    double eps = in.params().ridge() > 0 ? in.params().ridge() : defaultRidge(f, h);
    if (kind == Kind.PAST_AWARE && in.params().ridge() == 0) {
      // Adding lambda into F(labeled) and taking it out again leaves up to ulp(lambda) / 2 of
      // rounding on the diagonal; on tiny features that is more than 1e-6 * trace / h.
      eps = Math.max(eps, 2 * Math.ulp(in.lambda()));
    }
    DenseMatrices.addDiagonal(f, h, eps);
    double[] l = Features.cholesky(f, h, "the design matrix eps I + F with eps = " + eps,
        "set params.ridge to at least " + suggestedRidge(f, h, eps)
        + " (0 means 1e-6 * trace / h), or rescale the embeddings to O(1) values");
    Whitening.whiten(phi, t.size(), h, l);
    double[] q = Features.pairDistances(phi, h, ia, ib, in.cancelled());
    for (int k = 0; k < q.length; k++) {
      q[k] *= v[k];
    }
    return q;
  }

  /** A ridge a thousand times the one that failed, and at least 1e-3 * trace / h. */
  private static double suggestedRidge(double[] f, int h, double eps) {
    double tr = DenseMatrices.trace(f, h) - h * eps;
    double s = Math.max(1000 * eps, tr > 0 ? 1e-3 * tr / h : 1e-3);
    return Double.parseDouble(String.format(java.util.Locale.ROOT, "%.1e", s));
  }

  /** eps = 1e-6 * trace / h (1e-6 when the matrix is zero). */
  static double defaultRidge(double[] f, int h) {
    double tr = DenseMatrices.trace(f, h);
    return tr > 0 ? 1e-6 * tr / h : 1e-6;
  }
}
