package dev.activerm.server.core.linalg;

import dev.activerm.server.core.linalg.Parallel;

/**
 * Matrix-vector products over a float32 row matrix X (rows x dim, row-major) with a double
 * vector, accumulated in double: X v (one dot per row), X^T c and, fused with it, (X o X)^T c2
 * (one sum over the rows per column). These are the O(rows * dim) passes of the LINEAR fit, where float32
 * sgemv would lose the digits the convergence test needs and a double copy of X would
 * triple the memory of the rows.
 *
 * <p>Work is split into fixed partitions that never change what one output element sums, or
 * in which order: X v splits rows, X^T c splits columns and sums each column over the rows
 * in order. Results are bit-identical for any thread count. They run on the compute pool of
 * {@link Parallel} (sized once at server start with --compute-threads).
 */
public final class RowKernels {
  /** Below this many multiply-adds a product runs on the caller's thread. */
  private static final long PARALLEL_MIN_WORK = 1L << 18;
  /** Columns per partition of X^T c never go below this (a partition strides whole rows). */
  private static final int MIN_COLUMNS = 64;

  private RowKernels() {}

  /** out[i] = sum_j x[i, j] v[j] for i < rows, in double (four interleaved partial sums per row). */
  public static void timesVector(float[] x, int rows, int dim, double[] v, double[] out) {
    int parts = parts(rows, (long) rows * dim);
    Parallel.forParts(parts, p -> {
      int from = (int) ((long) rows * p / parts);
      int to = (int) ((long) rows * (p + 1) / parts);
      for (int i = from; i < to; i++) {
        out[i] = dot(x, i * dim, v, dim);
      }
    });
  }

  /** out[j] = sum_i c[i] x[i, j] for j < dim, in double, each column summed over i in order. */
  public static void transposeTimesVector(float[] x, int rows, int dim, double[] c, double[] out) {
    int parts = parts(Math.max(1, dim / MIN_COLUMNS), (long) rows * dim);
    Parallel.forParts(parts, p -> {
      int from = (int) ((long) dim * p / parts);
      int to = (int) ((long) dim * (p + 1) / parts);
      java.util.Arrays.fill(out, from, to, 0.0);
      for (int i = 0; i < rows; i++) {
        double ci = c[i];
        if (ci == 0.0) {
          continue;
        }
        int off = i * dim;
        for (int j = from; j < to; j++) {
          out[j] += ci * x[off + j];
        }
      }
    });
  }

  /**
   * out[j] = sum_i c[i] x[i, j] and out2[j] = sum_i c2[i] x[i, j]^2 for j < dim in one sweep
   * over x, in double, each column summed over i in order.
   */
  public static void transposeTimesVectors(
      float[] x, int rows, int dim, double[] c, double[] out, double[] c2, double[] out2) {
    int parts = parts(Math.max(1, dim / MIN_COLUMNS), 2L * rows * dim);
    Parallel.forParts(parts, p -> {
      int from = (int) ((long) dim * p / parts);
      int to = (int) ((long) dim * (p + 1) / parts);
      java.util.Arrays.fill(out, from, to, 0.0);
      java.util.Arrays.fill(out2, from, to, 0.0);
      for (int i = 0; i < rows; i++) {
        double ci = c[i];
        double c2i = c2[i];
        int off = i * dim;
        for (int j = from; j < to; j++) {
          double xij = x[off + j];
          out[j] += ci * xij;
          out2[j] += c2i * (xij * xij);
        }
      }
    });
  }

  /**
   * x w for each row of x (rows x dim, float32), one running double sum per row in column
   * order: the rewards of Score and of the MLP head (serial on purpose: stored models and
   * their scores stay bit-identical to the history of this code).
   */
  public static double[] rowDots(float[] x, int dim, double[] w) {
    double[] out = new double[x.length / dim];
    for (int i = 0; i < out.length; i++) {
      double acc = 0;
      int off = i * dim;
      for (int j = 0; j < dim; j++) {
        acc += x[off + j] * w[j];
      }
      out[i] = acc;
    }
    return out;
  }

  private static double dot(float[] x, int off, double[] v, int dim) {
    double s0 = 0;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    int j = 0;
    for (; j + 3 < dim; j += 4) {
      s0 += x[off + j] * v[j];
      s1 += x[off + j + 1] * v[j + 1];
      s2 += x[off + j + 2] * v[j + 2];
      s3 += x[off + j + 3] * v[j + 3];
    }
    for (; j < dim; j++) {
      s0 += x[off + j] * v[j];
    }
    return (s0 + s1) + (s2 + s3);
  }

  private static int parts(int maxParts, long work) {
    if (work < PARALLEL_MIN_WORK) {
      return 1;
    }
    return Math.max(1, Math.min(maxParts, Parallel.threads()));
  }
}
