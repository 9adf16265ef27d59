package dev.activerm.server.core.fit;

import java.util.List;

/** Rewards per subject row and one entry per requested pair, from model version modelVersion. */
public record ScoreResult(long modelVersion, double[] rewards, List<Pair> pairs) {
  /** P(a preferred over b) and the Laplace standard deviation of r_a - r_b. */
  public record Pair(String aId, String bId, double probability, double rewardDiffStddev) {}
}
