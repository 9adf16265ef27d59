package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.LaplacianGram;
import dev.activerm.server.core.linalg.PairKernels;
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
 *
 * <p>VOPT keeps BATCH_DOPT's M but scores what a label buys for prediction rather than for the
 * parameters: the decrease v z^T M^-1 S M^-1 z / (1 + v z^T M^-1 z) that the pair alone would
 * bring to tr(S M^-1), with S = (1/T) sum_i phi_i phi_i^T over the T rows the candidates touch
 * (phi centred): the mean posterior variance of the (centred) reward over those responses. A
 * D-optimal score weighs every direction of the features alike; on the paper-sized benchmark
 * that spent early labels on directions the responses barely vary in (docs/benchmarks.md,
 * issue 12 session 10). In whitened coordinates psi = L^-1 phi (M = L L^T) the numerator is
 * (psi_a - psi_b)^T G (psi_a - psi_b) with G = psi^T psi / T, one more T h^2 product.
 */
public final class DesignStrategy implements SelectionStrategy {
  /** Which information matrix and weights the design uses. */
  enum Kind {
    OLS,
    FISHER,
    PAST_AWARE,
    BATCH,
    VOPT
  }

  private final Kind kind;

  DesignStrategy(Kind kind) {
    this.kind = kind;
  }

  @Override
  public StrategyResult select(StrategyInput in, int b) {
    return StrategyResult.top(scores(in), b);
  }

  /** The score of every candidate (in.strategy() must be OLS_DOPT, DOPT, PAST_AWARE_DOPT, BATCH_DOPT or VOPT). */
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
    if (kind == Kind.BATCH || kind == Kind.VOPT) {
      return batchScores(in, phi, t.size(), h, ia, ib, v, f, kind == Kind.VOPT);
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
   * BATCH_DOPT and VOPT: f holds F(cand); M = lambda I + F(labeled) + (b / P) F(cand) (+
   * params.ridge, 0 by default: lambda > 0 already makes M positive definite).
   */
  private static double[] batchScores(StrategyInput in, float[] phi, int tt, int h, int[] ia, int[] ib, double[] v,
      double[] f, boolean vopt) {
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
    if (vopt) {
      return predictionScores(phi, tt, h, ia, ib, v, q, in);
    }
    for (int k = 0; k < q.length; k++) {
      q[k] *= v[k];
    }
    return q;
  }

  /**
   * VOPT's v_k d_k^T G d_k / (1 + v_k ||d_k||^2), d_k = psi_a - psi_b (whitened, q holds
   * ||d_k||^2), G = psi^T psi / T. Products in float32 like the whitened features themselves
   * (the scores rank candidates; StrategiesTest checks them against explicit inverses in double).
   */
  private static double[] predictionScores(float[] psi, int tt, int h, int[] ia, int[] ib, double[] v, double[] q,
      StrategyInput in) {
    float[] g = new float[h * h];
    Blas.sgemm(true, false, h, h, tt, 1f / tt, psi, h, psi, h, 0f, g, h);
    float[] u = new float[Math.multiplyExact(tt, h)];
    Blas.sgemm(false, false, tt, h, h, 1f, psi, h, g, h, 0f, u, h);
    double[] num = PairKernels.crossDistances(u, psi, h, ia, ib);
    CancelledException.checkSelection(in.cancelled(), "pair scoring");
    for (int k = 0; k < num.length; k++) {
      num[k] = v[k] * num[k] / (1 + v[k] * q[k]);
    }
    return num;
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
