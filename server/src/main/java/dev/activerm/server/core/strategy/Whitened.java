package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.Whitening;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;

/**
 * Whitened candidate state shared by GREEDY_DOPT and the BALD family: psi = L^-1 phi over the
 * touched rows with L L^T = lambda I + F(labeled), the reward margins mu = r_a - r_b and
 * quad = ||psi_a - psi_b||^2 per candidate.
 */
record Whitened(Touched touched, int h, float[] psi, double[] rewardDiff, double[] quad) {
  static Whitened of(StrategyInput in) {
    RewardModel m = in.model();
    LabeledInformation li = in.labeledInformation();
    Touched t = Touched.of(in.pool().rows(), in.candidates());
    int h = m.featureDim();
    float[] phi = Features.of(in.pool(), m, t.rows, in.cancelled());
    double[] d = Rewards.pairMargins(phi, t.size(), h, m.lastLayer(), t.localA[0], t.localB[0]);
    Whitening.whiten(phi, t.size(), h, li.factor());
    double[] q = Features.pairDistances(phi, h, t.localA[0], t.localB[0], in.cancelled());
    return new Whitened(t, h, phi, d, q);
  }
}
