package dev.activerm.server.core.linalg;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Pool-sized Java loops split into fixed partitions on a small, explicitly sized pool
 * (so they do not fight the gRPC executor). Partition boundaries depend only on the range,
 * never on timing, so results are bit-identical run to run.
 *
 * <p>Inside {@link #serially} the same partitions run one after the other on the calling
 * thread (and {@link Blas} asks OpenBLAS for one thread): for work so small that handing parts
 * to the pool and waiting for its threads costs more than the parts themselves (issue 13: a
 * LINEAR selection at D = 256 is dozens of short sections, each barrier waiting for a
 * descheduled thread on a busy machine). {@link #threads} does not change there, so every
 * partition, and every bit the Java loops compute, is what the parallel run gives (OpenBLAS on
 * one thread may round its own last bits differently: {@code BlasThreads}).
 */
public final class Parallel {
  private static volatile ForkJoinPool pool = new ForkJoinPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
  private static final int MIN_CHUNK = 8192;
  /** Depth of {@link #serially} scopes on this thread (nested scopes are allowed). */
  private static final ThreadLocal<int[]> SERIAL_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

  private Parallel() {}

  /** Replaces the compute pool (called once at server start with --compute-threads). */
  public static synchronized void setThreads(int threads) {
    ForkJoinPool old = pool;
    pool = new ForkJoinPool(Math.max(1, threads));
    old.shutdown();
  }

  public static int threads() {
    return pool.getParallelism();
  }

  /** Runs body with every section on this thread and single-threaded BLAS (see the class comment). */
  public static <T> T serially(java.util.function.Supplier<T> body) {
    int[] depth = SERIAL_DEPTH.get();
    depth[0]++;
    try {
      return body.get();
    } finally {
      depth[0]--;
    }
  }

  /** Whether the calling thread is inside {@link #serially}. */
  public static boolean isSerial() {
    return SERIAL_DEPTH.get()[0] > 0;
  }

  /** A body over [from, to). */
  @FunctionalInterface
  public interface Range {
    void run(int from, int to);
  }

  /** Runs body over [0, n) in fixed chunks; serial when n is small. */
  public static void forRange(int n, Range body) {
    int parts = Math.min(4 * threads(), Math.max(1, n / MIN_CHUNK));
    forParts(parts, part -> body.run((int) ((long) n * part / parts), (int) ((long) n * (part + 1) / parts)));
  }

  /** A body over one part. */
  @FunctionalInterface
  public interface Part {
    void run(int part);
  }

  /**
   * Runs body(0) .. body(parts - 1) on the pool, part 0 on the calling thread, and waits for
   * all; the first failure is rethrown. The caller chooses the partition. Inside
   * {@link #serially}: the parts in order on the calling thread, stopping at the first failure.
   */
  public static void forParts(int parts, Part body) {
    if (parts <= 1) {
      body.run(0);
      return;
    }
    if (isSerial()) {
      for (int i = 0; i < parts; i++) {
        body.run(i);
      }
      return;
    }
    List<ForkJoinTask<?>> tasks = new ArrayList<>(parts - 1);
    ForkJoinPool p = pool;
    for (int i = 1; i < parts; i++) {
      int part = i;
      tasks.add(p.submit(() -> body.run(part)));
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
