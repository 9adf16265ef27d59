package dev.activerm.server.core.select;

import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.OjAlgoSetup;
import dev.activerm.server.core.model.RewardModel;
import java.util.function.BooleanSupplier;
import org.ojalgo.matrix.decomposition.Cholesky;
import org.ojalgo.matrix.store.MatrixStore;
import org.ojalgo.matrix.store.R064Store;

/**
 * The kernels behind the Fisher-based strategies, all without forming z_k = phi_a - phi_b
 * per pair:
 *
 * <ul>
 *   <li>F(S) = sum_k v_k z_k z_k^T = Phi^T L_G Phi with L_G = D - A the weighted graph
 *       Laplacian of the pairs: one sparse-dense product Y = L_G Phi over the touched rows
 *       (CSR, parallel over rows), then one GEMM Phi^T Y. Cost P*h + T*h^2, not P*h^2.
 *   <li>z_k^T M^-1 z_k = ||psi_a - psi_b||^2 with psi = L^-1 phi (M = L L^T): one TRSM over
 *       the touched rows, then h flops per pair.
 * </ul>
 */
public final class FisherMath {
  static {
    OjAlgoSetup.quiet();
  }

  private static final int FEATURE_CHUNK = 4096;

  private FisherMath() {}

  /**
   * phi for the given pool rows (row-major, rows.length x h), float32. model null: phi is
   * the embedding itself. When center is true the column means are subtracted: every
   * quantity here depends on differences phi_a - phi_b only, and centring keeps the
   * float32 Laplacian product from cancelling a large common mean.
   */
  public static float[] features(RowSource source, RewardModel model, int[] rows, boolean center, BooleanSupplier cancelled) {
    int d = source.dim();
    int h = model == null ? d : model.featureDim();
    int t = rows.length;
    float[] phi = new float[Math.multiplyExact(t, h)];
    if (model == null) {
      Parallel.forRange(t, (from, to) -> {
        for (int i = from; i < to; i++) {
          source.copyRow(rows[i], phi, i * h);
        }
      });
    } else {
      float[] x = new float[FEATURE_CHUNK * d];
      float[] out = new float[FEATURE_CHUNK * h];
      for (int from = 0; from < t; from += FEATURE_CHUNK) {
        Cancellation.check(cancelled, "features");
        int n = Math.min(FEATURE_CHUNK, t - from);
        for (int i = 0; i < n; i++) {
          source.copyRow(rows[from + i], x, i * d);
        }
        model.features(x, n, out);
        System.arraycopy(out, 0, phi, from * h, n * h);
      }
    }
    if (center && t > 0) {
      double[] mean = new double[h];
      for (int i = 0; i < t; i++) {
        int o = i * h;
        for (int j = 0; j < h; j++) {
          mean[j] += phi[o + j];
        }
      }
      float[] m = new float[h];
      for (int j = 0; j < h; j++) {
        m[j] = (float) (mean[j] / t);
      }
      Parallel.forRange(t, (from, to) -> {
        for (int i = from; i < to; i++) {
          int o = i * h;
          for (int j = 0; j < h; j++) {
            phi[o + j] -= m[j];
          }
        }
      });
    }
    return phi;
  }

  /** r_a - r_b = w^T (phi_a - phi_b) for every pair (local indices). */
  public static double[] rewardDiffs(float[] phi, int t, int h, double[] w, int[] ia, int[] ib) {
    float[] wf = new float[h];
    for (int j = 0; j < h; j++) {
      wf[j] = (float) w[j];
    }
    float[] r = new float[t];
    if (t > 0) {
      Blas.sgemv(false, t, h, 1f, phi, h, wf, 0f, r);
    }
    double[] d = new double[ia.length];
    for (int k = 0; k < ia.length; k++) {
      d[k] = (double) r[ia[k]] - r[ib[k]];
    }
    return d;
  }

  /** sigma(d), clipped away from 0 and 1. */
  public static double sigmoid(double d) {
    double p = d >= 0 ? 1 / (1 + Math.exp(-d)) : Math.exp(d) / (1 + Math.exp(d));
    return Math.min(1 - 1e-12, Math.max(1e-12, p));
  }

  /** v_k = p_k (1 - p_k), p_k = sigma(d_k). */
  public static double[] bernoulliVariance(double[] d) {
    double[] v = new double[d.length];
    for (int k = 0; k < d.length; k++) {
      double p = sigmoid(d[k]);
      v[k] = p * (1 - p);
    }
    return v;
  }

  /**
   * Accumulates sum_k weight_k z_k z_k^T (h x h, row-major, double) into out: Phi^T (D - A) Phi
   * over the touched rows, via CSR rows of the symmetric weighted adjacency A.
   */
  public static void addLaplacianFisher(float[] phi, int t, int h, int[] ia, int[] ib, double[] weight, double[] out,
      BooleanSupplier cancelled) {
    int p = ia.length;
    if (p == 0) {
      return;
    }
    // CSR of the symmetric adjacency: each pair appears in both endpoint rows.
    int[] start = new int[t + 1];
    for (int k = 0; k < p; k++) {
      start[ia[k] + 1]++;
      start[ib[k] + 1]++;
    }
    for (int i = 0; i < t; i++) {
      start[i + 1] += start[i];
    }
    int[] fill = java.util.Arrays.copyOf(start, t);
    int[] nbr = new int[2 * p];
    float[] wt = new float[2 * p];
    for (int k = 0; k < p; k++) {
      float wk = (float) weight[k];
      int a = ia[k];
      int b = ib[k];
      nbr[fill[a]] = b;
      wt[fill[a]++] = wk;
      nbr[fill[b]] = a;
      wt[fill[b]++] = wk;
    }
    Cancellation.check(cancelled, "Fisher accumulation");
    // Y = (D - A) Phi, row by row, accumulated in double.
    float[] y = new float[t * h];
    Parallel.forRange(t, (from, to) -> {
      double[] acc = new double[h];
      for (int i = from; i < to; i++) {
        java.util.Arrays.fill(acc, 0);
        double deg = 0;
        for (int e = start[i]; e < start[i + 1]; e++) {
          float we = wt[e];
          deg += we;
          int o = nbr[e] * h;
          for (int j = 0; j < h; j++) {
            acc[j] -= we * phi[o + j];
          }
        }
        int oi = i * h;
        for (int j = 0; j < h; j++) {
          y[oi + j] = (float) (acc[j] + deg * phi[oi + j]);
        }
      }
    });
    Cancellation.check(cancelled, "Fisher accumulation");
    float[] f = new float[h * h];
    Blas.sgemm(true, false, h, h, t, 1f, phi, h, y, h, 0f, f, h);
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < h; j++) {
        out[i * h + j] += 0.5 * ((double) f[i * h + j] + f[j * h + i]);
      }
    }
  }

  public static double trace(double[] m, int h) {
    double s = 0;
    for (int i = 0; i < h; i++) {
      s += m[i * h + i];
    }
    return s;
  }

  public static void addDiagonal(double[] m, int h, double value) {
    for (int i = 0; i < h; i++) {
      m[i * h + i] += value;
    }
  }

  /** Lower Cholesky factor (row-major) of a symmetric positive definite h x h matrix. */
  public static double[] cholesky(double[] m, int h) {
    Cholesky<Double> chol = Cholesky.R064.make(h, h);
    if (!chol.decompose(R064Store.wrap(m.clone(), h)) || !chol.isSPD()) {
      throw new ArithmeticException("information matrix is not positive definite (h = " + h + ")");
    }
    MatrixStore<Double> l = chol.getL();
    double[] out = new double[h * h];
    for (int i = 0; i < h; i++) {
      for (int j = 0; j <= i; j++) {
        out[i * h + j] = l.doubleValue(i, j);
      }
    }
    return out;
  }

  /** log det of L L^T from its lower factor. */
  public static double logDetFromFactor(double[] l, int h) {
    double s = 0;
    for (int i = 0; i < h; i++) {
      s += Math.log(l[i * h + i]);
    }
    return 2 * s;
  }

  /** psi = L^-1 phi for every touched row, in place (one TRSM). */
  public static void whiten(float[] phi, int t, int h, double[] l) {
    if (t == 0) {
      return;
    }
    float[] lf = new float[h * h];
    for (int i = 0; i < h * h; i++) {
      lf[i] = (float) l[i];
    }
    Blas.strsmRowsLowerInverse(t, h, lf, phi);
  }

  /** ||psi_a - psi_b||^2 for every pair, accumulated in double. */
  public static double[] pairSquaredDistances(float[] psi, int h, int[] ia, int[] ib, BooleanSupplier cancelled) {
    double[] q = new double[ia.length];
    Cancellation.check(cancelled, "pair scoring");
    Parallel.forRange(ia.length, (from, to) -> {
      for (int k = from; k < to; k++) {
        int oa = ia[k] * h;
        int ob = ib[k] * h;
        double s = 0;
        for (int j = 0; j < h; j++) {
          float diff = psi[oa + j] - psi[ob + j];
          s += diff * diff;
        }
        q[k] = s;
      }
    });
    return q;
  }
}
