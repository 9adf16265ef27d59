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

  /**
   * The same factor as {@link #choleskyLower} (null when not positive definite, m unchanged,
   * only its lower triangle read), in plain Java row by row: each entry's dot product of two
   * contiguous rows in four partial sums. Not ojAlgo's bits, so only for results that carry no
   * fixed bits (a batch's log det gain, BatchInformation); about 0.9 ms at h = 256 where
   * ojAlgo's factor took 4-6 ms (issue 13, session 11) and LAPACK's costs 0.1-0.2 s of library
   * loading on first use. LapackTest compares it with ojAlgo's and a textbook loop.
   */
  public static double[] choleskyLowerRows(double[] m, int h) {
    double[] l = new double[Math.multiplyExact(h, h)];
    for (int i = 0; i < h; i++) {
      int oi = i * h;
      for (int j = 0; j <= i; j++) {
        int oj = j * h;
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int k = 0;
        for (; k + 3 < j; k += 4) {
          s0 += l[oi + k] * l[oj + k];
          s1 += l[oi + k + 1] * l[oj + k + 1];
          s2 += l[oi + k + 2] * l[oj + k + 2];
          s3 += l[oi + k + 3] * l[oj + k + 3];
        }
        for (; k < j; k++) {
          s0 += l[oi + k] * l[oj + k];
        }
        double s = m[oi + j] - ((s0 + s1) + (s2 + s3));
        if (i == j) {
          if (!(s > 0) || Double.isInfinite(s)) {
            return null;
          }
          l[oi + i] = Math.sqrt(s);
        } else {
          l[oi + j] = s / l[oj + j];
        }
      }
    }
    return l;
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
