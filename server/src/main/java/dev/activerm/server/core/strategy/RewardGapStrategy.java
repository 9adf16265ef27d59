package dev.activerm.server.core.strategy;

import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;

/** MAX_ENTROPY (score -|r_a - r_b|) and MAX_DIFFERENCE (score |r_a - r_b|): top b. */
final class RewardGapStrategy implements SelectionStrategy {
  private final double sign;

  /** closest: true for MAX_ENTROPY (the most uncertain pairs first), false for MAX_DIFFERENCE. */
  RewardGapStrategy(boolean closest) {
    this.sign = closest ? -1 : 1;
  }

  @Override
  public StrategyResult select(StrategyInput in, int b) {
    RewardModel m = in.model();
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    int h = m.featureDim();
    float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
    double[] d = Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), t.localA[0], t.localB[0]);
    double[] score = new double[d.length];
    for (int k = 0; k < d.length; k++) {
      score[k] = sign * Math.abs(d[k]);
    }
    return StrategyResult.top(score, b);
  }
}
