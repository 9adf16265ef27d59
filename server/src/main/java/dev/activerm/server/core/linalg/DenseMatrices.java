package dev.activerm.server.core.linalg;

import org.ojalgo.matrix.decomposition.Cholesky;
import org.ojalgo.matrix.store.MatrixStore;
import org.ojalgo.matrix.store.R064Store;

/**
 * Small dense h x h work in double, row-major (information matrices, posterior precisions):
 * Cholesky, trace and diagonal shifts. Pool-sized products go to {@link Blas}.
 *
 * <p>The Cholesky is ojAlgo's (pure Java, single-threaded) up to {@link #LAPACK_FROM_H} and
 * LAPACK dpotrf ({@link Lapack}, multi-threaded OpenBLAS) above: at h = 2 048 ojAlgo's factor
 * was 55% of a DOPT selection's Java samples (issue 13's profile), while at h <= 512 it is
 * h^3/3 <= 45 MFLOP (an estimate, not profiled) next to seconds of pool kernels, and keeping it there leaves every
 * factor the golden test and the label-efficiency runs rest on bit-for-bit unchanged.
 */
public final class DenseMatrices {
  /** From this width on the factor goes to LAPACK; below it stays in ojAlgo. */
  static final int LAPACK_FROM_H = 513;

  static {
    OjAlgoSetup.quiet();
  }

  private DenseMatrices() {}

  /**
   * The lower Cholesky factor (row-major, upper triangle zero) of a symmetric positive
   * definite h x h matrix, or null when it is not positive definite to double precision
   * (a non-positive or NaN pivot). m is not changed.
   */
  public static double[] choleskyLower(double[] m, int h) {
    return h >= LAPACK_FROM_H ? Lapack.choleskyLower(m, h) : ojAlgoCholeskyLower(m, h);
  }

  static double[] ojAlgoCholeskyLower(double[] m, int h) {
    Cholesky<Double> chol = Cholesky.R064.make(h, h);
    if (!chol.decompose(R064Store.wrap(m.clone(), h)) || !chol.isSPD()) {
      return null;
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
