package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.Whitening;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.pairs.PairList;

/**
 * What a chosen batch adds to what the labeled and pending pairs already carry (a stopping
 * signal): log det(M + W^T W) - log det(M) with M = lambda I + F(labeled and pending) and W
 * the B x h rows sqrt(v_k) z_k of the batch (v from the model, weight 1, as for pending
 * pairs). With D = W M^-1/2 this is log det(I + D D^T) = log det(I + D^T D), so it costs the
 * batch's 2B feature rows, one B x h solve and the Cholesky of the smaller of B x B and h x h,
 * never the candidates. A property of the batch under the model, whichever strategy chose it.
 */
public final class BatchInformation {
  private BatchInformation() {}

  /**
   * Whether {@link #logDetGain} needs the input's dense lambda I + F(labeled) (else it uses the
   * Woodbury form, as GREEDY_DOPT does for few labeled pairs next to a wide h, and never builds
   * an h x h matrix): the same rule as {@link LowRankLabeled#applies}, and dense when the batch
   * is wider than h.
   */
  public static boolean needsLabeledInformation(int numLabeled, int h, int batch) {
    return !LowRankLabeled.applies(numLabeled, h) || batch > h;
  }

  /**
   * Above this many flops of its own (building lambda I + F(labeled) or its Woodbury form), the
   * gain of a batch whose strategy did not need that matrix anyway (RANDOM, MAX_ENTROPY,
   * MAX_DIFFERENCE, OLS_DOPT, DOPT, CORESET) is left unmeasured: about 0.1 to 1 s at
   * BLAS speed on two cores, so a millisecond RANDOM selection never turns into a multi-second one
   * (h = 4 096 with 10 000 labels would cost ~170 GFLOP). The Fisher strategies that build it
   * (PAST_AWARE_DOPT, GREEDY_DOPT, BALD, BATCHBALD) are always measured.
   */
  public static final double MAX_OWN_FLOPS = 4e9;

  /**
   * Flops {@link #logDetGain} spends on the labeled pairs alone (n of them, features of width h,
   * a batch of b) when nothing is shared with the strategy: n h^2 + h^3 / 3 for the dense form,
   * n^2 h + n^3 / 3 for the Woodbury one. Depends on n, h and b only, never on a cache, so whether
   * a selection is measured does not depend on cache state.
   */
  public static double ownFlops(int numLabeled, int h, int batch) {
    double n = numLabeled;
    double w = h;
    return needsLabeledInformation(numLabeled, h, batch) ? n * w * w + w * w * w / 3 : n * n * w + n * n * n / 3;
  }

  /**
   * The gain in nats (>= 0) of the batch (pool rows a[k], b[k]) under in.model(), which must
   * not be null; in.labeledInformation() is used when {@link #needsLabeledInformation} says so.
   */
  public static double logDetGain(StrategyInput in, int[] a, int[] b) {
    RewardModel m = in.model();
    int h = m.featureDim();
    int n = a.length;
    if (n == 0) {
      return 0;
    }
    PairList batch = new PairList(a, b);
    Touched t = Touched.of(in.pool().rows(), batch);
    float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
    int[] ia = t.localA[0];
    int[] ib = t.localB[0];
    double[] v = BradleyTerry.clippedVariance(Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), ia, ib));
    double[] w = new double[Math.multiplyExact(n, h)];
    for (int k = 0; k < n; k++) {
      double s = Math.sqrt(v[k]);
      int oa = ia[k] * h;
      int ob = ib[k] * h;
      for (int j = 0; j < h; j++) {
        w[k * h + j] = s * ((double) phi[oa + j] - phi[ob + j]);
      }
    }
    double[] gram;
    int g;
    if (needsLabeledInformation(in.labeled().size(), h, n)) {
      // Rows of D = W L^-T: d_k = L^-1 w_k.
      Whitening.whiten(w, n, h, in.labeledInformation().factor());
      if (n <= h) {
        g = n;
        gram = new double[n * n];
        Blas.dgemm(false, true, n, n, h, 1.0, w, h, w, h, 0.0, gram, n);
      } else {
        g = h;
        gram = new double[h * h];
        Blas.dsyrkTransposed(h, n, 1.0, w, h, 0.0, gram, h);
        symmetrizeFromUpper(gram, h);
      }
    } else {
      // M^-1 = (I - Q^T Q) / lambda: D D^T = (W W^T - (W Q^T)(W Q^T)^T) / lambda.
      LowRankLabeled lr = LowRankLabeled.compute(in);
      int r = lr.n();
      g = n;
      gram = new double[n * n];
      Blas.dgemm(false, true, n, n, h, 1.0, w, h, w, h, 0.0, gram, n);
      if (r > 0) {
        double[] q = lr.project(phi, t.size(), in.cancelled());
        double[] wq = new double[n * r];
        for (int k = 0; k < n; k++) {
          double s = Math.sqrt(v[k]);
          int oa = ia[k] * r;
          int ob = ib[k] * r;
          for (int j = 0; j < r; j++) {
            wq[k * r + j] = s * (q[oa + j] - q[ob + j]);
          }
        }
        Blas.dgemm(false, true, n, n, r, -1.0, wq, r, wq, r, 1.0, gram, n);
      }
      for (int i = 0; i < n * n; i++) {
        gram[i] /= in.lambda();
      }
    }
    DenseMatrices.addDiagonal(gram, g, 1.0);
    // I + D D^T has every eigenvalue >= 1: positive definite unless the features overflow.
    double[] l = DenseMatrices.choleskyLower(gram, g);
    if (l == null) {
      return Double.NaN;
    }
    double logDet = 0;
    for (int i = 0; i < g; i++) {
      logDet += Math.log(l[i * g + i]);
    }
    return 2 * logDet;
  }

  private static void symmetrizeFromUpper(double[] m, int h) {
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < i; j++) {
        m[i * h + j] = m[j * h + i];
      }
    }
  }
}
