package dev.activerm.server.core.linalg;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Matrix-vector products over a float32 row matrix X (rows x dim, row-major) with a double
 * vector, accumulated in double: X v (one dot per row), X^T c and (X o X)^T c (one sum over
 * the rows per column). These are the O(rows * dim) passes of the LINEAR fit, where float32 sgemv would
 * lose the digits the convergence test needs and a double copy of X would double memory.
 *
 * <p>Work is split into fixed partitions that never change what one output element sums, or
 * in which order: X v splits rows, X^T c splits columns and sums each column over the rows
 * in order. Results are bit-identical for any thread count. The pool is small and explicitly
 * sized ({@link #setThreads}, called once at server start with --compute-threads) so it does
 * not fight the gRPC executor.
 */
public final class RowKernels {
  /** Below this many multiply-adds a product runs on the caller's thread. */
  private static final long PARALLEL_MIN_WORK = 1L << 18;
  /** Columns per partition of X^T c never go below this (a partition strides whole rows). */
  private static final int MIN_COLUMNS = 64;

  private static volatile ForkJoinPool pool = newPool(Runtime.getRuntime().availableProcessors());

  private RowKernels() {}

  /** Replaces the pool (called once at server start with --compute-threads). */
  public static synchronized void setThreads(int threads) {
    ForkJoinPool old = pool;
    pool = newPool(threads);
    old.shutdown();
  }

  public static int threads() {
    return pool.getParallelism();
  }

  private static ForkJoinPool newPool(int threads) {
    return new ForkJoinPool(Math.max(1, threads), p -> {
      var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
      t.setName("activerm-rowkernels-" + t.getPoolIndex());
      t.setDaemon(true);
      return t;
    }, null, false);
  }

  /** out[i] = sum_j x[i, j] v[j] for i < rows, in double (four interleaved partial sums per row). */
  public static void timesVector(float[] x, int rows, int dim, double[] v, double[] out) {
    int parts = parts(rows, (long) rows * dim);
    run(parts, p -> {
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
    run(parts, p -> {
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

  /** out[j] = sum_i c[i] x[i, j]^2 for j < dim, in double, each column summed over i in order. */
  public static void transposeSquaresTimesVector(float[] x, int rows, int dim, double[] c, double[] out) {
    int parts = parts(Math.max(1, dim / MIN_COLUMNS), (long) rows * dim);
    run(parts, p -> {
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
          double xij = x[off + j];
          out[j] += ci * (xij * xij);
        }
      }
    });
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
    return Math.max(1, Math.min(maxParts, threads()));
  }

  @FunctionalInterface
  private interface Part {
    void run(int part);
  }

  private static void run(int parts, Part body) {
    if (parts == 1) {
      body.run(0);
      return;
    }
    ForkJoinPool p = pool;
    ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[parts - 1];
    for (int i = 1; i < parts; i++) {
      int part = i;
      tasks[i - 1] = p.submit(() -> body.run(part));
    }
    RuntimeException failure = null;
    try {
      body.run(0);
    } catch (RuntimeException e) {
      failure = e;
    }
    for (ForkJoinTask<?> t : tasks) {
      try {
        t.join();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
