package dev.activerm.spark;

import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Strategy;
import java.util.List;

/**
 * One Spark selection: strategy and batch size, the candidates (explicit pairs of response
 * ids), how many partitions
 * the candidate pairs are spread over (GreeDi's first round runs once per partition), and
 * whether to register the batch on the server.
 *
 * @param explicitPairs the candidate pairs (response ids); sampled candidates are not done yet
 */
public record SparkSelectOptions(
    Strategy strategy,
    int batchSize,
    List<Pair> explicitPairs,
    long maxCandidates,
    long seed,
    double ridge,
    int candidatePartitions,
    boolean register) {
  public static final String COMPUTED_ON = "spark";

  public SparkSelectOptions {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize is " + batchSize + "; use >= 1");
    }
    if (strategy != Strategy.MAX_ENTROPY && strategy != Strategy.DOPT && strategy != Strategy.PAST_AWARE_DOPT
        && strategy != Strategy.GREEDY_DOPT) {
      throw new IllegalArgumentException("strategy " + strategy
          + " does not run on Spark yet; use MAX_ENTROPY, DOPT, PAST_AWARE_DOPT or GREEDY_DOPT");
    }
    if (candidatePartitions < 1) {
      throw new IllegalArgumentException("candidatePartitions is " + candidatePartitions + "; use >= 1");
    }
    if (explicitPairs == null || explicitPairs.isEmpty()) {
      throw new IllegalArgumentException("send explicit candidate pairs; cross-prompt / within-prompt sampling on "
          + "Spark is not done yet (docs/spark.md)");
    }
    explicitPairs = List.copyOf(explicitPairs);
  }

  public static SparkSelectOptions explicit(Strategy strategy, int batchSize, List<Pair> pairs) {
    return new SparkSelectOptions(strategy, batchSize, pairs, pairs.size(), 0, 0, 4, false);
  }

  public SparkSelectOptions withRegister(boolean r) {
    return new SparkSelectOptions(strategy, batchSize, explicitPairs, maxCandidates, seed, ridge, candidatePartitions,
        r);
  }

  public SparkSelectOptions withCandidatePartitions(int n) {
    return new SparkSelectOptions(strategy, batchSize, explicitPairs, maxCandidates, seed, ridge, n, register);
  }
}
