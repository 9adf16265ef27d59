package dev.activerm.server.core.strategy;

import dev.activerm.server.core.pairs.Sampling;

/** RANDOM: b candidates uniformly without replacement under the strategy seed; every score is 0. */
final class RandomStrategy implements SelectionStrategy {
  @Override
  public StrategyResult select(StrategyInput in, int b) {
    int[] idx = Sampling.sampleIndices(in.candidates().size(), b, in.strategySeed());
    return new StrategyResult(idx, new double[b]);
  }
}
