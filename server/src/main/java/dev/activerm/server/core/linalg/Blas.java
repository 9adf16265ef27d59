package dev.activerm.server.core.linalg;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pool-sized kernels on OpenBLAS (the native library ships inside the bytedeco jar).
 * Matrices are row-major Java arrays. OpenBLAS's own thread pool is capped by
 * {@link #setThreads} so it does not fight the gRPC executor; the server calls it once at
 * start with --compute-threads. Inside {@link Parallel#serially} each call runs on one
 * OpenBLAS thread ({@link BlasThreads}).
 *
 * <p>h x h factorisations are in {@link Lapack} (the same library's LAPACK).
 */
public final class Blas {
  private static final Logger log = LoggerFactory.getLogger(Blas.class);

  static {
    Loader.load(openblas_nolapack.class);
  }

  private Blas() {}

  /** Caps OpenBLAS's threads for every later call (once no call is in flight). */
  public static void setThreads(int threads) {
    BlasThreads.configure(threads);
    // Not OPENBLAS_CHAR_CORENAME: that is the DYNAMIC_ARCH build's compile-time baseline
    // ("NEHALEM" on every machine), which this line used to print as if it were the kernels in
    // use. The real name (kernels()) needs the second JNI library (openblas_full), 0.1-0.3 s
    // more to start, so the start-up line leaves it out.
    String timeout = System.getenv("OPENBLAS_THREAD_TIMEOUT");
    log.info("OpenBLAS {} using {} threads (OPENBLAS_THREAD_TIMEOUT {})", openblas_nolapack.OPENBLAS_VERSION.trim(),
        threads(), timeout == null ? "unset: idle threads spin; 4 is faster on shared cores, docs/operations.md" : timeout);
  }

  /**
   * The kernel set OpenBLAS picked for this CPU at run time (or OPENBLAS_CORETYPE forced), e.g.
   * "Zen" or "Haswell": what decides the last bits of every result (the tests pin it; see the
   * root pom's test.openblasCore). Loads the openblas_full JNI library on first use.
   */
  public static String kernels() {
    return org.bytedeco.openblas.global.openblas_full.openblas_get_corename().getString();
  }

  public static int threads() {
    return org.bytedeco.openblas.presets.openblas_nolapack.blas_get_num_threads();
  }

  /** C = alpha * op(A) op(B) + beta * C, float32, row-major; op(A) is m x k, op(B) is k x n. */
  public static void sgemm(
      boolean transA, boolean transB, int m, int n, int k,
      float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_sgemm(
          openblas_nolapack.CblasRowMajor, trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
  }

  /**
   * C = alpha * op(A) op(B) + beta * C, float32, row-major, all off-heap: for Java arrays
   * JavaCPP mallocs a copy of every argument and copies it back on each call (A, B and C,
   * in and out), which for an MLP layer costs a good part of the product itself.
   */
  public static void sgemm(
      boolean transA, boolean transB, int m, int n, int k,
      float alpha, FloatPointer a, int lda, FloatPointer b, int ldb, float beta, FloatPointer c, int ldc) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_sgemm(
          openblas_nolapack.CblasRowMajor, trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
  }

  /** C = alpha * op(A) op(B) + beta * C, float64, row-major. */
  public static void dgemm(
      boolean transA, boolean transB, int m, int n, int k,
      double alpha, double[] a, int lda, double[] b, int ldb, double beta, double[] c, int ldc) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_dgemm(
          openblas_nolapack.CblasRowMajor, trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
  }

  /**
   * C = alpha * op(A) op(B) + beta * C, float64, row-major, all off-heap: for arrays JavaCPP
   * copies every argument in and out on each call, which for a block of rows costs as much as
   * the product.
   */
  public static void dgemm(
      boolean transA, boolean transB, int m, int n, int k,
      double alpha, DoublePointer a, int lda, DoublePointer b, int ldb, double beta, DoublePointer c, int ldc) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_dgemm(
          openblas_nolapack.CblasRowMajor, trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
  }

  /** y = alpha * op(A) x + beta * y, float32, row-major A (m x n). */
  public static void sgemv(
      boolean transA, int m, int n, float alpha, float[] a, int lda, float[] x, float beta, float[] y) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_sgemv(
          openblas_nolapack.CblasRowMajor, trans(transA), m, n, alpha, a, lda, x, 1, beta, y, 1);
    }
  }

  /**
   * y = alpha * op(A) x + beta * y, float32, row-major A (m x n), all off-heap: JavaCPP copies
   * Java arrays in and out on every call, which for a pool-sized A costs more than the product.
   */
  public static void sgemv(
      boolean transA, int m, int n, float alpha, FloatPointer a, int lda, FloatPointer x, float beta, FloatPointer y) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_sgemv(
          openblas_nolapack.CblasRowMajor, trans(transA), m, n, alpha, a, lda, x, 1, beta, y, 1);
    }
  }

  /**
   * Upper triangle of C = alpha * A^T A + beta * C for A (k x n, row-major) and C (n x n),
   * float64. The lower triangle is left untouched; use {@link #symmetrizeUpper} to fill it.
   */
  public static void dsyrkTransposed(int n, int k, double alpha, double[] a, int lda, double beta, double[] c, int ldc) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_dsyrk(
          openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasUpper, openblas_nolapack.CblasTrans,
          n, k, alpha, a, lda, beta, c, ldc);
    }
  }


  /** {@link #dsyrkTransposed} on off-heap A and C: for arrays JavaCPP copies both in and out on every call. */
  public static void dsyrkTransposed(int n, int k, double alpha, DoublePointer a, int lda, double beta, DoublePointer c,
      int ldc) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_dsyrk(
          openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasUpper, openblas_nolapack.CblasTrans,
          n, k, alpha, a, lda, beta, c, ldc);
    }
  }

  /**
   * Solves X L^T = B in place for the rows of B (m x n, row-major), with L lower triangular
   * (n x n, row-major): each row b becomes L^-1 b. This is psi = L^-1 phi for a pool.
   */
  public static void strsmRowsLowerInverse(int m, int n, float[] l, float[] b) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_strsm(
          openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasRight, openblas_nolapack.CblasLower,
          openblas_nolapack.CblasTrans, openblas_nolapack.CblasNonUnit, m, n, 1.0f, l, n, b, n);
    }
  }

  /** Same as {@link #strsmRowsLowerInverse} in float64. */
  public static void dtrsmRowsLowerInverse(int m, int n, double[] l, double[] b) {
    try (BlasThreads one = BlasThreads.forCall()) {
      openblas_nolapack.cblas_dtrsm(
          openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasRight, openblas_nolapack.CblasLower,
          openblas_nolapack.CblasTrans, openblas_nolapack.CblasNonUnit, m, n, 1.0, l, n, b, n);
    }
  }

  /** Copies the upper triangle of a square row-major matrix onto its lower triangle. */
  public static void symmetrizeUpper(int n, double[] c) {
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < i; j++) {
        c[i * n + j] = c[j * n + i];
      }
    }
  }

  private static int trans(boolean t) {
    return t ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
  }
}
