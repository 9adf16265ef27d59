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

  /**
   * ||psi_a - psi_b||^2 for every pair of float32 rows (h wide), summed in double, in parallel.
   * Each pair's sum runs over j in order (the same bits as one pair at a time); four pairs go
   * through the j loop together, so the four sums' additions overlap instead of each waiting
   * for the one before (a serial chain of h double additions per pair: ~5 ms for 14 000 pairs
   * at h = 256 before, issue 13 session 11).
   */
  public static double[] squaredDistances(float[] psi, int h, int[] a, int[] b) {
    double[] q = new double[a.length];
    Parallel.forRange(a.length, (from, to) -> {
      int k = from;
      for (; k + 3 < to; k += 4) {
        int oa0 = a[k] * h;
        int ob0 = b[k] * h;
        int oa1 = a[k + 1] * h;
        int ob1 = b[k + 1] * h;
        int oa2 = a[k + 2] * h;
        int ob2 = b[k + 2] * h;
        int oa3 = a[k + 3] * h;
        int ob3 = b[k + 3] * h;
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        for (int j = 0; j < h; j++) {
          float d0 = psi[oa0 + j] - psi[ob0 + j];
          float d1 = psi[oa1 + j] - psi[ob1 + j];
          float d2 = psi[oa2 + j] - psi[ob2 + j];
          float d3 = psi[oa3 + j] - psi[ob3 + j];
          s0 += d0 * d0;
          s1 += d1 * d1;
          s2 += d2 * d2;
          s3 += d3 * d3;
        }
        q[k] = s0;
        q[k + 1] = s1;
        q[k + 2] = s2;
        q[k + 3] = s3;
      }
      for (; k < to; k++) {
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
