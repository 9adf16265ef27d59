package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.Whitening;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.pairs.PairList;
import java.util.function.Supplier;
import org.bytedeco.javacpp.DoublePointer;

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
    return logDetGain(in, a, b, () -> {
      LabeledInformation li = in.labeledInformation();
      return strategyFactors(in) ? li.factor() : rowFactor(li.matrix(), li.h(), in.lambda());
    });
  }

  /**
   * Whether in's strategy itself factors lambda I + F(labeled) (the whitened GREEDY_DOPT and
   * BALD, and BATCHBALD): then the gain reuses that factor, computed anyway, with the bits it
   * always had. Decided from the strategy and sizes, never from whether the factor is known yet.
   */
  static boolean strategyFactors(StrategyInput in) {
    Strategy s = in.strategy();
    return s == Strategy.BATCHBALD
        || ((s == Strategy.GREEDY_DOPT || s == Strategy.BALD) && !LowRankLabeled.applies(in));
  }

  /**
   * The gain's own factor of lambda I + F(labeled) where the strategy did not factor it
   * ({@link #strategyFactors}), instead of the matrix's shared one (LabeledInformation.factor,
   * ojAlgo's: 4-6 ms at h = 256, which PAST_AWARE_DOPT, BATCH_DOPT and VOPT never need
   * otherwise): DenseMatrices.choleskyLowerRows, ~1 ms there. Always this one for those
   * strategies, whether or not the shared factor is already known (a cache entry an earlier
   * GREEDY_DOPT factored), so the gain does not depend on what a cache entry holds; it differs from the shared factor's gain by rounding only (within 1e-12
   * relative, BatchInformationTest). FAILED_PRECONDITION when not positive definite.
   */
  static double[] rowFactor(double[] m, int h, double lambda) {
    double[] l = DenseMatrices.choleskyLowerRows(m, h);
    if (l == null) {
      throw Features.notPositiveDefinite(m, h, "lambda I + F(labeled) with lambda = " + lambda,
          "the features of the labeled responses are too large for the prior precision: rescale the embeddings"
          + " to O(1) values (or create the project with a larger l2)");
    }
    return l;
  }

  /**
   * The same gain for a strategy that never built lambda I + F(labeled) (RANDOM, DOPT, the
   * reward-gap strategies, ...), equal to {@link #logDetGain} with in.labeledInformation() up to
   * rounding (BatchInformationTest: within 1e-12 relative). Where that form needs the dense
   * matrix, it is built here from the rows y_k = sqrt(w_k v_k) z_k of the n labeled pairs as
   * lambda I + Y^T Y (one SYRK, n h^2 flops) instead of LabeledInformation's Phi^T L Phi over the
   * T rows they touch (a T x h x h GEMM and the O(n h) Laplacian pass): labeled pairs seldom
   * share a response (T near 2n), and at the label-efficiency size (n ~1 000, h = 256) that was
   * 15 of the gain's ~23 ms. When T < n / 2 the Laplacian product is the cheaper one and
   * {@code shared} (the derived-state cache's lambda I + F(labeled)) is used as before. The
   * choice depends on n and T only, never on what a cache holds.
   */
  public static double ownLogDetGain(StrategyInput in, int[] a, int[] b, Supplier<LabeledInformation> shared) {
    return ownLogDetGain(in, a, b, shared, DIRECT_CHUNK_DOUBLES);
  }

  /** As above with the doubles per chunk of Y as an argument, so tests reach several chunks at small sizes. */
  static double ownLogDetGain(StrategyInput in, int[] a, int[] b, Supplier<LabeledInformation> shared,
      int chunkDoubles) {
    return logDetGain(in, a, b, () -> {
      int h = in.model().featureDim();
      PairList lab = in.labeled();
      Touched t = Touched.of(in.pool().rows(), lab);
      if ((long) lab.size() > 2L * t.size()) {
        return rowFactor(shared.get().matrix(), h, in.lambda());
      }
      return directFactor(in, t, h, chunkDoubles);
    });
  }

  /** Rows per SYRK call of {@link #directFactor}: the chunk of Y is at most 32 MiB. */
  static final int DIRECT_CHUNK_DOUBLES = 1 << 22;

  /**
   * The lower factor of lambda I + sum_k w_k v_k z_k z_k^T over in.labeled() (t: the rows they
   * touch), from the same centred float32 features and float32 margins LabeledInformation uses;
   * FAILED_PRECONDITION as LabeledInformation's when it is not positive definite.
   */
  static double[] directFactor(StrategyInput in, Touched t, int h, int chunkDoubles) {
    RewardModel m = in.model();
    PairList lab = in.labeled();
    int n = lab.size();
    double[] f = new double[h * h];
    if (n > 0) {
      float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
      int[] ia = t.localA[0];
      int[] ib = t.localB[0];
      double[] v = BradleyTerry.clippedVariance(Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), ia, ib));
      int chunk = Math.max(1, Math.min(n, chunkDoubles / h));
      double[] y = new double[Math.multiplyExact(chunk, h)];
      try (DoublePointer yp = new DoublePointer((long) chunk * h); DoublePointer fp = new DoublePointer((long) h * h)) {
        fp.put(f, 0, h * h);
        for (int from = 0; from < n; from += chunk) {
          CancelledException.checkSelection(in.cancelled(), "labeled information");
          int rows = Math.min(chunk, n - from);
          for (int r = 0; r < rows; r++) {
            int k = from + r;
            double s = Math.sqrt(Math.max(0, v[k] * in.labeledWeights()[k]));
            int oa = ia[k] * h;
            int ob = ib[k] * h;
            int o = r * h;
            for (int j = 0; j < h; j++) {
              y[o + j] = s * ((double) phi[oa + j] - phi[ob + j]);
            }
          }
          yp.put(y, 0, rows * h);
          Blas.dsyrkTransposed(h, rows, 1.0, yp, h, 1.0, fp, h);
        }
        fp.get(f, 0, h * h);
      }
      symmetrizeFromUpper(f, h);
    }
    DenseMatrices.addDiagonal(f, h, in.lambda());
    return rowFactor(f, h, in.lambda());
  }

  /** The gain with the given factor of lambda I + F(labeled) where the dense form needs one (tests compare factors). */
  static double logDetGain(StrategyInput in, int[] a, int[] b, Supplier<double[]> labeledFactor) {
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
      Whitening.whiten(w, n, h, labeledFactor.get());
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
