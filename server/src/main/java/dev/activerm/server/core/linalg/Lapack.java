package dev.activerm.server.core.linalg;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas;

/**
 * h x h factorisations on OpenBLAS's LAPACK (the same native library as {@link Blas}, its
 * LAPACK entry points; multi-threaded with the BLAS thread cap). ojAlgo's Cholesky, used
 * before, is single-threaded Java: at h = 2 048 it took seconds where dpotrf takes a fraction
 * of one (docs/benchmarks.md, "At LLM width").
 */
public final class Lapack {
  static {
    Loader.load(openblas.class);
  }

  private Lapack() {}

  /**
   * The lower Cholesky factor L (row-major, upper triangle zero, L L^T = m) of a symmetric
   * h x h matrix, or null when dpotrf finds a leading minor that is not positive definite.
   * Only m's lower triangle is read (its upper one is assumed to mirror it); m is not changed.
   */
  public static double[] choleskyLower(double[] m, int h) {
    if (m.length != h * h) {
      throw new IllegalArgumentException("matrix has " + m.length + " entries, not h * h = " + h + " * " + h);
    }
    double[] l = m.clone();
    if (h == 0) {
      return l;
    }
    // A row-major lower triangle is the column-major upper one of the same array, and for a
    // symmetric m, U^T U = m with U column-major upper is L L^T = m with L = U^T row-major
    // lower: no transposed copy (which LAPACKE's row-major path would make). The _work entry
    // skips LAPACKE's NaN scan, which would reject a NaN as a bad argument.
    int info;
    try (BlasThreads one = BlasThreads.forCall()) {
      info = openblas.LAPACKE_dpotrf_work(openblas.LAPACK_COL_MAJOR, (byte) 'U', h, l, h);
    }
    if (info < 0) {
      throw new IllegalStateException("LAPACKE_dpotrf rejected argument " + (-info));
    }
    if (info > 0) {
      return null;
    }
    // OpenBLAS's dpotrf stops at a pivot <= 0 but lets a NaN one through; a NaN anywhere in
    // the lower triangle reaches the diagonal of its row (pivot i subtracts l_ik^2), so a
    // factor whose diagonal is not all positive numbers is "not positive definite" too.
    for (int i = 0; i < h; i++) {
      if (!(l[i * h + i] > 0) || Double.isInfinite(l[i * h + i])) {
        return null;
      }
    }
    // dpotrf leaves the other triangle as it was: clear it.
    for (int i = 0; i < h; i++) {
      java.util.Arrays.fill(l, i * h + i + 1, (i + 1) * h, 0.0);
    }
    return l;
  }
}
