package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.model.LinearRewardModel;
import java.util.function.Supplier;

/**
 * The work-size policy of a selection: below {@link #SERIAL_BELOW_FLOPS} it runs in
 * {@link Parallel#serially} (every section on the calling thread, every BLAS call on one
 * OpenBLAS thread). At the label-efficiency size (D = 256 LINEAR, ~4 000 touched rows, 14 000
 * candidates) a selection is ~1 GFLOP spread over dozens of short parallel sections and
 * few-ms BLAS calls, and on two busy cores each of them waited for a descheduled thread: the
 * selection cost 6-10x the Fit it follows (issue 13, docs/benchmarks.md "LINEAR SelectBatch vs
 * the LINEAR Fit").
 *
 * <p>Decided once per selection from the input's sizes only (never from timing, load or what a
 * cache holds), before anything runs, so it cannot flip mid-selection. The serial path runs the
 * same Java partitions, so the Java arithmetic is bit-identical; OpenBLAS on one thread may round
 * the last bits of a dgemm, strsm or dpotrf differently from two ({@code BlasThreads}), so across
 * the two modes picks are equal and scores agree within 1e-6 relative (WorkSizeTest; 4.6e-8
 * seen), and each mode is bit-identical run to run.
 */
public final class WorkSize {
  /**
   * Estimated flops below which a selection runs serially; measured crossover in
   * docs/benchmarks.md ("A work-size policy"): at 2 compute threads the parallel path only won
   * above this.
   */
  static final double SERIAL_BELOW_FLOPS = 2e9;

  private WorkSize() {}

  /**
   * The selection's dominant work, T h^2 (F = Phi^T L Phi over the touched rows and the TRSM
   * psi = L^-1 Phi are each about that), with T bounded by the rows the candidates and the
   * labeled pairs can touch, plus T d h for a head whose features are a network of input d.
   */
  static double flops(StrategyInput in) {
    int d = in.pool().dim();
    int h = in.model() == null ? d : in.model().featureDim();
    double touched = Math.min((double) in.pool().rows(), 2.0 * in.candidates().size() + 2.0 * in.labeled().size());
    double features = in.model() == null || in.model() instanceof LinearRewardModel ? 0 : touched * d * h;
    return touched * h * (double) h + features;
  }

  /** Whether the policy runs the input's selection serially. */
  public static boolean serial(StrategyInput in) {
    return flops(in) < SERIAL_BELOW_FLOPS;
  }

  /** body in the mode the policy chooses for in. */
  public static <T> T run(StrategyInput in, Supplier<T> body) {
    return serial(in) ? Parallel.serially(body) : body.get();
  }
}
