package dev.activerm.server.core.linalg;

/**
 * Small dense h x h work in double, row-major (information matrices, posterior precisions):
 * Cholesky (LAPACK dpotrf through {@link Lapack}), trace and diagonal shifts. Pool-sized
 * products go to {@link Blas}.
 */
public final class DenseMatrices {
  private DenseMatrices() {}

  /**
   * The lower Cholesky factor (row-major, upper triangle zero) of a symmetric positive
   * definite h x h matrix, or null when it is not positive definite to double precision
   * (LAPACK dpotrf meets a non-positive pivot). m is not changed.
   */
  public static double[] choleskyLower(double[] m, int h) {
    return Lapack.choleskyLower(m, h);
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
}
