package dev.activerm.client;

import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Strategy;
import java.util.List;

/**
 * What SelectBatch should choose.
 *
 * @param batchSize pairs to choose
 * @param strategy null: the server default (GREEDY_DOPT)
 * @param candidates CROSS_PROMPT (default), WITHIN_PROMPT, or EXPLICIT with {@code pairs}
 * @param pairs the explicit candidate pairs (only with EXPLICIT)
 * @param maxCandidates cap on candidates, 0: the server default (1 000 000)
 * @param seed seed for sampling and random strategies
 * @param includeLabeled also consider labeled pairs
 * @param includePending also consider pairs pending from earlier selections
 * @param modelVersion 0: the latest model
 */
public record SelectOptions(
    int batchSize,
    Strategy strategy,
    CandidateSource candidates,
    List<Pair> pairs,
    long maxCandidates,
    long seed,
    boolean includeLabeled,
    boolean includePending,
    long modelVersion) {

  /** Where candidate pairs come from. */
  public enum CandidateSource {
    CROSS_PROMPT,
    WITHIN_PROMPT,
    EXPLICIT
  }

  public SelectOptions {
    pairs = pairs == null ? List.of() : List.copyOf(pairs);
    candidates = candidates == null ? CandidateSource.CROSS_PROMPT : candidates;
  }

  public static SelectOptions of(int batchSize, Strategy strategy) {
    return new SelectOptions(batchSize, strategy, CandidateSource.CROSS_PROMPT, List.of(), 0, 0, false, false, 0);
  }

  public SelectOptions withCandidates(CandidateSource source) {
    return new SelectOptions(batchSize, strategy, source, pairs, maxCandidates, seed, includeLabeled, includePending, modelVersion);
  }

  public SelectOptions withPairs(List<Pair> explicitPairs) {
    return new SelectOptions(batchSize, strategy, CandidateSource.EXPLICIT, explicitPairs, maxCandidates, seed,
        includeLabeled, includePending, modelVersion);
  }

  public SelectOptions withSeed(long newSeed) {
    return new SelectOptions(batchSize, strategy, candidates, pairs, maxCandidates, newSeed, includeLabeled, includePending, modelVersion);
  }

  public SelectOptions withMaxCandidates(long cap) {
    return new SelectOptions(batchSize, strategy, candidates, pairs, cap, seed, includeLabeled, includePending, modelVersion);
  }
}
