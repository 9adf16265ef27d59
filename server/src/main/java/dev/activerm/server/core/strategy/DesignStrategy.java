package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.LaplacianGram;
import dev.activerm.server.core.linalg.Whitening;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import java.util.Arrays;

/**
 * The top-B designs: score v_k z_k^T M^-1 z_k and take the top b. The paper's three:
 * OLS_DOPT sets v = 1 and M = eps I + sum z z^T; DOPT uses M = eps I + F(cand); PAST_AWARE_DOPT
 * adds F(labeled). BATCH_DOPT uses M = lambda I + F(labeled) + (b / P) F(cand): the log det
 * gradient at the uniform design of the batch's size (every candidate weighted b / P, so the
 * design carries b labels' worth of information, not P), so the prior and the labels already
 * taken keep their weight and the score does not collapse to leverage against F(cand) alone.
 */
public final class DesignStrategy implements SelectionStrategy {
  /** Which information matrix and weights the design uses. */
  enum Kind {
    OLS,
    FISHER,
    PAST_AWARE,
    BATCH
  }

  private final Kind kind;

  DesignStrategy(Kind kind) {
    this.kind = kind;
  }

  @Override
  public StrategyResult select(StrategyInput in, int b) {
    return StrategyResult.top(scores(in), b);
  }

  /** The score of every candidate (in.strategy() must be OLS_DOPT, DOPT, PAST_AWARE_DOPT or BATCH_DOPT). */
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
    if (kind == Kind.BATCH) {
      return batchScores(in, phi, t.size(), h, ia, ib, v, f);
    }
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

  /**
   * BATCH_DOPT: f holds F(cand); M = lambda I + F(labeled) + (b / P) F(cand) (+ params.ridge,
   * 0 by default: lambda > 0 already makes M positive definite).
   */
  private static double[] batchScores(StrategyInput in, float[] phi, int tt, int h, int[] ia, int[] ib, double[] v,
      double[] f) {
    int p = ia.length;
    double share = Math.min(1.0, (double) in.batchSize() / p);
    double[] past = in.labeledInformation().matrix();
    for (int i = 0; i < h * h; i++) {
      f[i] = share * f[i] + past[i];
    }
    double ridge = in.params().ridge();
    DenseMatrices.addDiagonal(f, h, ridge);
    double[] l = Features.cholesky(f, h, "the design matrix lambda I + F(labeled) + (b / P) F(cand) with lambda = "
        + in.lambda() + (ridge > 0 ? " and ridge " + ridge : ""),
        "set params.ridge to at least " + suggestedRidge(f, h, ridge)
        + ", or rescale the embeddings to O(1) values (or create the project with a larger l2)");
    Whitening.whiten(phi, tt, h, l);
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
