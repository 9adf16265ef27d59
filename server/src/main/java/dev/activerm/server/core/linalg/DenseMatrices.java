package dev.activerm.server.core.linalg;

import org.ojalgo.matrix.decomposition.Cholesky;
import org.ojalgo.matrix.store.MatrixStore;
import org.ojalgo.matrix.store.R064Store;

/**
 * Small dense h x h work in double, row-major (information matrices, posterior precisions):
 * Cholesky through ojAlgo, trace and diagonal shifts. Pool-sized products go to {@link Blas}.
 */
public final class DenseMatrices {
  static {
    OjAlgoSetup.quiet();
  }

  private DenseMatrices() {}

  /**
   * The lower Cholesky factor (row-major, upper triangle zero) of a symmetric positive
   * definite h x h matrix, or null when ojAlgo finds it not positive definite. m is not
   * changed.
   */
  public static double[] choleskyLower(double[] m, int h) {
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
