package dev.activerm.server.core.strategy;

/** Chosen candidate indices (into the input's candidates) in the order chosen, with their scores. */
public record StrategyResult(int[] index, double[] score) {
  /** The top b candidates by score (ties to the lower index), with their scores. */
  static StrategyResult top(double[] score, int b) {
    int[] idx = TopK.top(score, b);
    double[] s = new double[idx.length];
    for (int i = 0; i < idx.length; i++) {
      s[i] = score[idx[i]];
    }
    return new StrategyResult(idx, s);
  }
}
