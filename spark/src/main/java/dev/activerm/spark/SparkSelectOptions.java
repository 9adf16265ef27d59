package dev.activerm.spark;

import dev.activerm.client.SelectOptions.CandidateSource;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Strategy;
import java.util.List;

/**
 * One Spark selection: strategy and batch size, where the candidates come from, how many
 * partitions they are spread over (GreeDi's first round runs once per partition; CROSS_PROMPT
 * samples in that many buckets), and whether to register the batch on the server.
 *
 * @param source EXPLICIT (explicitPairs), WITHIN_PROMPT or CROSS_PROMPT (sampled on the cluster)
 * @param explicitPairs the candidate pairs for EXPLICIT (response ids); empty otherwise
 * @param maxCandidates WITHIN_PROMPT: pairs per prompt (a seeded subsample above it);
 *     CROSS_PROMPT: pairs in all; 1..100 000 000. Recorded on the registered selection.
 * @param seed sampling seed (WITHIN_PROMPT over the cap, CROSS_PROMPT), recorded as given
 * @param ridge eps of eps I + F(cand) for DOPT / PAST_AWARE_DOPT; 0: the server's default
 */
public record SparkSelectOptions(
    Strategy strategy,
    int batchSize,
    CandidateSource source,
    List<Pair> explicitPairs,
    long maxCandidates,
    long seed,
    double ridge,
    int candidatePartitions,
    boolean register) {
  public static final String COMPUTED_ON = "spark";
  /** Bounds one group's draw (the server's generator holds a group's pairs in int arrays). */
  public static final long MAX_CANDIDATES = 100_000_000L;

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
    if (source == null) {
      throw new IllegalArgumentException("source is null; use EXPLICIT, WITHIN_PROMPT or CROSS_PROMPT");
    }
    explicitPairs = explicitPairs == null ? List.of() : List.copyOf(explicitPairs);
    if (source == CandidateSource.EXPLICIT && explicitPairs.isEmpty()) {
      throw new IllegalArgumentException("EXPLICIT candidates need at least one pair; send pairs or use "
          + "WITHIN_PROMPT / CROSS_PROMPT");
    }
    if (source != CandidateSource.EXPLICIT && !explicitPairs.isEmpty()) {
      throw new IllegalArgumentException(source + " candidates are drawn from the pool; leave explicitPairs empty");
    }
    if (source != CandidateSource.EXPLICIT && (maxCandidates < 1 || maxCandidates > MAX_CANDIDATES)) {
      throw new IllegalArgumentException("maxCandidates is " + maxCandidates + "; use 1.." + MAX_CANDIDATES);
    }
  }

  public static SparkSelectOptions explicit(Strategy strategy, int batchSize, List<Pair> pairs) {
    return new SparkSelectOptions(strategy, batchSize, CandidateSource.EXPLICIT, pairs, pairs.size(), 0, 0, 4,
        false);
  }

  /** Every pair of responses sharing a prompt_id, at most maxPerPrompt per prompt. */
  public static SparkSelectOptions withinPrompt(Strategy strategy, int batchSize, long maxPerPrompt) {
    return new SparkSelectOptions(strategy, batchSize, CandidateSource.WITHIN_PROMPT, List.of(), maxPerPrompt, 0, 0,
        4, false);
  }

  /** About maxCandidates pairs of distinct responses, sampled on the cluster with the seed. */
  public static SparkSelectOptions crossPrompt(Strategy strategy, int batchSize, long maxCandidates, long seed) {
    return new SparkSelectOptions(strategy, batchSize, CandidateSource.CROSS_PROMPT, List.of(), maxCandidates, seed,
        0, 4, false);
  }

  public SparkSelectOptions withRegister(boolean r) {
    return new SparkSelectOptions(strategy, batchSize, source, explicitPairs, maxCandidates, seed, ridge,
        candidatePartitions, r);
  }

  public SparkSelectOptions withCandidatePartitions(int n) {
    return new SparkSelectOptions(strategy, batchSize, source, explicitPairs, maxCandidates, seed, ridge, n,
        register);
  }

  public SparkSelectOptions withSeed(long s) {
    return new SparkSelectOptions(strategy, batchSize, source, explicitPairs, maxCandidates, s, ridge,
        candidatePartitions, register);
  }
}
