package dev.activerm.server.core.strategy;

import dev.activerm.server.core.model.BradleyTerry;

/**
 * GREEDY_DOPT: repeatedly take argmax v_k z_k^T M^-1 z_k, then M += v z z^T, starting from
 * M = lambda I + F(labeled). In whitened coordinates M = L G L^T with G = I + sum_j v_j u_j u_j^T,
 * and G^-1 is kept as I - sum_j c_j g_j g_j^T (Sherman–Morrison), so one pick costs one GEMV
 * over the touched rows (t = Psi g) plus O(P) score updates: O(B (T h + P)) overall, no
 * refactorisation. When few pairs are labeled ({@link LowRankLabeled#applies}) the same
 * steps run in raw coordinates instead (M_s^-1 = M_0^-1 - sum_j c_j g_j g_j^T with M_0^-1 by
 * Woodbury): no h x h matrix, no whitening.
 */
final class GreedyDoptStrategy implements SelectionStrategy {
  @Override
  public StrategyResult select(StrategyInput in, int b) {
    return select(in, b, LowRankLabeled.applies(in));
  }

  /** With the form forced: tests and benchmarks compare the two. */
  static StrategyResult select(StrategyInput in, int b, boolean lowRank) {
    return lowRank ? LowRankGreedy.select(in, b) : whitened(in, b);
  }

  private static StrategyResult whitened(StrategyInput in, int b) {
    Whitened w = Whitened.of(in);
    return GreedyPicks.run(in, b, w.psi(), w.touched().size(), w.h(), w.touched().localA[0], w.touched().localB[0],
        BradleyTerry.clippedVariance(w.rewardDiff()), w.quad(), double[]::clone);
  }
}
