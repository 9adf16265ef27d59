package dev.activerm.server.core.linalg;

/**
 * Kernels over pairs (a_k, b_k) of rows of a row-major matrix, without forming the
 * difference rows: differences of per-row values and squared distances ||psi_a - psi_b||^2.
 * The squared distance exists once per precision: float32 rows (SelectBatch's whitened pool
 * features, a difference per element in float, summed in double) and float64 rows (Score's
 * Laplace standard deviations).
 */
public final class PairKernels {
  private PairKernels() {}

  /** out[k] = v[a_k] - v[b_k], in double. */
  public static double[] differences(float[] v, int[] a, int[] b) {
    double[] d = new double[a.length];
    for (int k = 0; k < a.length; k++) {
      d[k] = (double) v[a[k]] - v[b[k]];
    }
    return d;
  }

  /** ||psi_a - psi_b||^2 for every pair of float32 rows (h wide), summed in double, in parallel. */
  public static double[] squaredDistances(float[] psi, int h, int[] a, int[] b) {
    double[] q = new double[a.length];
    Parallel.forRange(a.length, (from, to) -> {
      for (int k = from; k < to; k++) {
        int oa = a[k] * h;
        int ob = b[k] * h;
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

  /**
   * (u_a - u_b) . (psi_a - psi_b) for every pair of float32 rows (h wide, u and psi with the
   * same row layout), summed in double, in parallel: with u = psi G, the quadratic form of G
   * on the pair's difference.
   */
  public static double[] crossDistances(float[] u, float[] psi, int h, int[] a, int[] b) {
    double[] q = new double[a.length];
    Parallel.forRange(a.length, (from, to) -> {
      for (int k = from; k < to; k++) {
        int oa = a[k] * h;
        int ob = b[k] * h;
        double s = 0;
        for (int j = 0; j < h; j++) {
          s += (double) (u[oa + j] - u[ob + j]) * (psi[oa + j] - psi[ob + j]);
        }
        q[k] = s;
      }
    });
    return q;
  }

  /**
   * ||psi_a - psi_b||^2 for every pair of float64 rows (h wide), in parallel (each pair is its
   * own serial sum, so the bits do not depend on the split).
   */
  public static double[] squaredDistances(double[] psi, int h, int[] a, int[] b) {
    double[] q = new double[a.length];
    Parallel.forRange(a.length, (from, to) -> {
      for (int k = from; k < to; k++) {
        int oa = a[k] * h;
        int ob = b[k] * h;
        double ss = 0;
        for (int j = 0; j < h; j++) {
          double d = psi[oa + j] - psi[ob + j];
          ss += d * d;
        }
        q[k] = ss;
      }
    });
    return q;
  }
}
