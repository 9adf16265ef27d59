package dev.activerm.server.core.strategy;

import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;

/**
 * The candidate state of {@link Whitened} without the whitening, for {@link LowRankLabeled}:
 * the raw centred features phi of the touched rows, margins mu = r_a - r_b and
 * quad = z_k^T (lambda I + F(labeled))^-1 z_k by Woodbury.
 */
record LowRankCandidates(Touched touched, int h, float[] phi, double[] rewardDiff, double[] quad,
    LowRankLabeled labeled) {
  static LowRankCandidates of(StrategyInput in) {
    RewardModel m = in.model();
    LowRankLabeled lr = LowRankLabeled.compute(in);
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    int h = m.featureDim();
    float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
    int[] ia = t.localA[0];
    int[] ib = t.localB[0];
    double[] d = Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), ia, ib);
    double[] w = lr.project(phi, t.size(), in.cancelled());
    double[] q = lr.quad(phi, w, ia, ib, in.cancelled());
    return new LowRankCandidates(t, h, phi, d, q, lr);
  }
}
