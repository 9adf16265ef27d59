package dev.activerm.server.core.linalg;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.presets.openblas_nolapack;

/**
 * OpenBLAS's thread count per call: one inside {@link Parallel#serially}, the configured
 * count (--compute-threads) elsewhere. OpenBLAS's count is process-global and its threads spin
 * while they wait for work, so a few-ms GEMV or GEMM on two threads of a busy machine waits for
 * the descheduled one (issue 13's JFR profile); a small selection asks for one thread instead.
 *
 * <p>The two modes never overlap: a call waits until every call of the other mode has
 * returned, then sets the count (a call that wants to switch makes new calls of the current
 * mode wait behind it, so neither mode starves). That matters for results, not only speed:
 * OpenBLAS 0.3.31's dgemm, strsm and dpotrf give different last bits on one thread than on two
 * at some sizes (measured: dgemm 64 x 64 x 300 and 1024 x 1024 x 4000, strsm 10 000 x 512,
 * dpotrf from h = 256), so a parallel-mode call that ran on one thread because another thread's
 * serial call had lowered the count would make a selection depend on timing. With one
 * configured thread both modes are the same and nothing ever waits.
 */
final class BlasThreads implements AutoCloseable {
  private static final BlasThreads GUARD = new BlasThreads();
  private static final Object LOCK = new Object();
  /** The count {@link #configure} set, or 0 before (then read from OpenBLAS on first use). */
  private static int configured;
  /** The count OpenBLAS runs with now (0: not yet known). */
  private static int current;
  /** Calls in flight, all with {@link #current} threads. */
  private static int active;
  /** Calls waiting to switch the count away from {@link #current}. */
  private static int switching;

  static {
    Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
  }

  private BlasThreads() {}

  /** Sets the configured count (Blas.setThreads), once no call is in flight. */
  static void configure(int threads) {
    synchronized (LOCK) {
      boolean interrupted = false;
      while (active > 0) {
        interrupted |= await();
      }
      openblas_nolapack.blas_set_num_threads(threads);
      configured = threads;
      current = threads;
      LOCK.notifyAll();
      restore(interrupted);
    }
  }

  /**
   * The guard for one BLAS or LAPACK call, in the mode of the calling thread; close it right
   * after the native call (try-with-resources around that call only: it must not nest).
   */
  static BlasThreads forCall() {
    boolean single = Parallel.isSerial();
    synchronized (LOCK) {
      if (configured == 0) {
        configured = openblas_nolapack.blas_get_num_threads();
        current = configured;
      }
      int want = single ? 1 : configured;
      boolean interrupted = false;
      boolean counted = false;
      while (active > 0 && (current != want || switching > 0)) {
        if (current != want && !counted) {
          switching++;
          counted = true;
        }
        interrupted |= await();
        if (counted && current == want) {
          // Someone else already switched to this mode: join it.
          switching--;
          counted = false;
        }
      }
      if (counted) {
        switching--;
      }
      if (current != want) {
        set(want);
        current = want;
      }
      active++;
      restore(interrupted);
    }
    return GUARD;
  }

  @Override
  public void close() {
    synchronized (LOCK) {
      if (--active == 0 || switching > 0) {
        LOCK.notifyAll();
      }
    }
  }

  /**
   * The count OpenBLAS runs with now, as the last switch or configure set it: for tests (the
   * presets' blas_get_num_threads returns what blas_set_num_threads last recorded, and
   * {@link #set} goes around it).
   */
  static int current() {
    synchronized (LOCK) {
      return current != 0 ? current : openblas_nolapack.blas_get_num_threads();
    }
  }

  /** Waits on LOCK (held); true when interrupted (the flag is restored once the wait is over). */
  private static boolean await() {
    try {
      LOCK.wait();
      return false;
    } catch (InterruptedException e) {
      return true;
    }
  }

  private static void restore(boolean interrupted) {
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Switches the count: openblas_set_num_threads itself, looked up once. The presets'
   * blas_set_num_threads, which {@link #configure} still uses (it records the count that
   * {@link Blas#threads} reads), looks up four entry points through JavaCPP's Loader on every
   * call: 1.4-3.3 ms per switch measured (issue 13, session 11), once per serial selection and
   * once per parallel call after it (the next Fit). The same native function is called either way.
   */
  private static void set(int threads) {
    if (direct == null) {
      Pointer p = Loader.addressof("openblas_set_num_threads");
      if (p == null || p.isNull()) {
        openblas_nolapack.blas_set_num_threads(threads);
        return;
      }
      SetThreads f = new SetThreads();
      f.put(p);
      direct = f;
    }
    direct.call(threads);
  }

  /** openblas_set_num_threads, resolved on the first switch (under LOCK). */
  private static SetThreads direct;

  /** The presets' function pointer type for openblas_set_num_threads (its constructor is protected). */
  private static final class SetThreads extends openblas_nolapack.SetNumThreads {
    SetThreads() {
      super();
    }
  }
}
