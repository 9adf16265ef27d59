package dev.activerm.server.core.strategy;

import dev.activerm.server.core.model.BradleyTerry;

/**
 * GREEDY_DOPT in raw coordinates for {@link LowRankLabeled}: the same argmax / Sherman–Morrison
 * steps as {@link GreedyDoptStrategy}, with M_s^-1 = M_0^-1 - sum_j c_j g_j g_j^T,
 * g_s = M_{s-1}^-1 z_s and M_0^-1 z by Woodbury (O(n h)). One pick is one GEMV over the raw
 * touched rows (t = Phi g) plus O(P) score updates, as in the whitened form.
 */
final class LowRankGreedy {
  private LowRankGreedy() {}

  static StrategyResult select(StrategyInput in, int b) {
    LowRankCandidates w = LowRankCandidates.of(in);
    return GreedyPicks.run(in, b, w.phi(), w.touched().size(), w.h(), w.touched().localA[0], w.touched().localB[0],
        BradleyTerry.clippedVariance(w.rewardDiff()), w.quad(), w.labeled()::solve);
  }
}
