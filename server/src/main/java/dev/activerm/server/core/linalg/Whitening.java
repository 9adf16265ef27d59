package dev.activerm.server.core.linalg;

/**
 * psi = L^-1 phi for every row of phi, in place, with L the lower Cholesky factor of an
 * information matrix M = L L^T, so z^T M^-1 z = ||L^-1 z||^2 for any difference of rows.
 * One triangular solve over the rows (TRSM), in float32 for pool-sized feature matrices
 * and in float64 for Score's few rows.
 */
public final class Whitening {
  private Whitening() {}

  /** phi (t x h, float32) becomes psi; the double factor is rounded to float for the solve. */
  public static void whiten(float[] phi, int t, int h, double[] lower) {
    if (t == 0) {
      return;
    }
    float[] lf = new float[h * h];
    for (int i = 0; i < h * h; i++) {
      lf[i] = (float) lower[i];
    }
    Blas.strsmRowsLowerInverse(t, h, lf, phi);
  }

  /** phi (m x h, float64) becomes psi. */
  public static void whiten(double[] phi, int m, int h, double[] lower) {
    Blas.dtrsmRowsLowerInverse(m, h, lower, phi);
  }
}
