package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.PairKernels;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.pairs.PairList;
import org.bytedeco.javacpp.DoublePointer;

/**
 * M = lambda I + F(labeled) through Woodbury, for when the n labeled and pending pairs are
 * few next to the feature width h. With Y the n x h matrix of rows sqrt(w_j v_j) z_j,
 * M = lambda I + Y^T Y and, with C C^T = lambda I + Y Y^T (n x n) and Q = C^-1 Y,
 * z^T M^-1 z = (||z||^2 - ||Q z||^2) / lambda and M^-1 z = (z - Q^T Q z) / lambda.
 * Scoring T touched rows then costs T n h (one GEMM, float64) instead of the h x h Gram,
 * its Cholesky (h^3 / 3) and the T h^2 triangular solve; exact up to rounding.
 */
public final class LowRankLabeled {
  /**
   * Below this width both forms take milliseconds; the dense form is kept there so that
   * small projects (and the golden fixture, h = 16) keep their bits.
   */
  static final int MIN_WIDTH = 128;

  private static final int CHUNK_DOUBLES = 1 << 22;

  private final int h;
  private final int n;
  private final double lambda;
  /** Q^T, h x n row-major, off-heap for the per-chunk GEMMs. */
  private final double[] qt;

  private LowRankLabeled(int h, int n, double lambda, double[] qt) {
    this.h = h;
    this.n = n;
    this.lambda = lambda;
    this.qt = qt;
  }

  /**
   * Whether GREEDY_DOPT and BALD use this form for the input: h at least {@link #MIN_WIDTH}
   * and n labeled + pending entries at most h / 4, or at most h / 2 from h = 2 048 on (where
   * the dense form's h^3 / 3 Cholesky dominates). Measured crossover (docs/benchmarks.md,
   * T = 10^4 touched rows, GREEDY_DOPT B = 100): at h = 512 and 1 024 the forms tie at n = h / 4
   * and the dense one wins at n = h / 2; at h = 2 048 and 4 096 Woodbury still wins at n = h / 2.
   * It depends on n and h only, never on what a cache holds, so a selection does not depend on
   * cache state.
   */
  public static boolean applies(StrategyInput in) {
    if (in.model() == null || (in.strategy() != Strategy.GREEDY_DOPT && in.strategy() != Strategy.BALD)) {
      return false;
    }
    return applies(in.labeled().size(), in.model().featureDim());
  }

  static boolean applies(int n, int h) {
    return h >= MIN_WIDTH && (4L * n <= h || (h >= 2048 && 2L * n <= h));
  }

  static LowRankLabeled compute(StrategyInput in) {
    RewardModel m = in.model();
    int h = m.featureDim();
    PairList lab = in.labeled();
    int n = lab.size();
    double[] y = new double[Math.multiplyExact(n, h)];
    if (n > 0) {
      Touched t = Touched.of(in.pool().rows(), lab);
      float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
      int[] ia = t.localA[0];
      int[] ib = t.localB[0];
      double[] v = BradleyTerry.clippedVariance(Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), ia, ib));
      for (int k = 0; k < n; k++) {
        double s = Math.sqrt(Math.max(0, v[k] * in.labeledWeights()[k]));
        int oa = ia[k] * h;
        int ob = ib[k] * h;
        for (int j = 0; j < h; j++) {
          y[k * h + j] = s * ((double) phi[oa + j] - phi[ob + j]);
        }
      }
    }
    double[] kk = new double[n * n];
    if (n > 0) {
      Blas.dgemm(false, true, n, n, h, 1.0, y, h, y, h, 0.0, kk, n);
    }
    DenseMatrices.addDiagonal(kk, n, in.lambda());
    // lambda I + Y Y^T has every eigenvalue >= lambda > 0: it is well conditioned where
    // lambda I + F(labeled) is, so the same failure message applies.
    double[] c = n == 0 ? new double[0] : Features.cholesky(kk, n,
        "lambda I + Y Y^T (Woodbury form of lambda I + F(labeled)) with lambda = " + in.lambda(),
        "the features of the labeled responses are too large for the prior precision: rescale the embeddings"
        + " to O(1) values (or create the project with a larger l2)");
    // Q^T = Y^T C^-T: each row of Y^T (a column of Y) becomes C^-1 times it.
    double[] qt = new double[Math.multiplyExact(h, n)];
    for (int k = 0; k < n; k++) {
      for (int j = 0; j < h; j++) {
        qt[j * n + k] = y[k * h + j];
      }
    }
    if (n > 0) {
      Blas.dtrsmRowsLowerInverse(h, n, c, qt);
    }
    return new LowRankLabeled(h, n, in.lambda(), qt);
  }

  int n() {
    return n;
  }

  /** Q phi_i for every row of phi (t x h, float32): t x n, float64. */
  double[] project(float[] phi, int t, java.util.function.BooleanSupplier cancelled) {
    double[] w = new double[Math.multiplyExact(t, n)];
    if (n == 0 || t == 0) {
      return w;
    }
    int chunk = Math.max(1, Math.min(t, CHUNK_DOUBLES / Math.max(h, n)));
    double[] x = new double[chunk * h];
    try (DoublePointer qtP = new DoublePointer(qt); DoublePointer xP = new DoublePointer((long) chunk * h);
        DoublePointer outP = new DoublePointer((long) chunk * n)) {
      for (int from = 0; from < t; from += chunk) {
        CancelledException.checkSelection(cancelled, "low-rank projection");
        int rows = Math.min(chunk, t - from);
        int base = from * h;
        Parallel.forRange(rows * h, (a, b) -> {
          for (int i = a; i < b; i++) {
            x[i] = phi[base + i];
          }
        });
        xP.put(x, 0, rows * h);
        Blas.dgemm(false, false, rows, n, h, 1.0, xP, h, qtP, n, 0.0, outP, n);
        outP.get(w, from * n, rows * n);
      }
    }
    return w;
  }

  /** z_k^T M^-1 z_k for every pair (local endpoints into phi and w = project(phi)). */
  double[] quad(float[] phi, double[] w, int[] ia, int[] ib, java.util.function.BooleanSupplier cancelled) {
    double[] zz = Features.pairDistances(phi, h, ia, ib, cancelled);
    double[] ww = PairKernels.squaredDistances(w, n, ia, ib);
    for (int k = 0; k < zz.length; k++) {
      // ||Q z|| <= ||z|| exactly; rounding may cross it when z lies in the labeled span.
      zz[k] = Math.max(0, zz[k] - ww[k]) / lambda;
    }
    return zz;
  }

  /** M^-1 z for one h-vector. */
  double[] solve(double[] z) {
    double[] qz = new double[n];
    for (int j = 0; j < h; j++) {
      double zj = z[j];
      int o = j * n;
      for (int k = 0; k < n; k++) {
        qz[k] += qt[o + k] * zj;
      }
    }
    double[] out = new double[h];
    for (int j = 0; j < h; j++) {
      double s = 0;
      int o = j * n;
      for (int k = 0; k < n; k++) {
        s += qt[o + k] * qz[k];
      }
      out[j] = (z[j] - s) / lambda;
    }
    return out;
  }
}
