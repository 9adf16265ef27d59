package dev.activerm.client;

import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Strategy;
import java.time.Duration;
import java.util.List;

/**
 * What SelectBatch should choose.
 *
 * @param batchSize pairs to choose
 * @param strategy null: the server default (GREEDY_DOPT)
 * @param candidates CROSS_PROMPT (default), WITHIN_PROMPT, or EXPLICIT with {@code pairs}
 * @param pairs the explicit candidate pairs (only with EXPLICIT)
 * @param promptIds CROSS_PROMPT / WITHIN_PROMPT only: use only responses to these prompts
 *     (each must be a prompt of the project, else NOT_FOUND; duplicates are ignored); empty: every prompt
 * @param maxCandidates cap on candidates, 0: the server default (1 000 000)
 * @param seed seed for sampling and random strategies
 * @param includeLabeled also consider labeled pairs
 * @param includePending also consider pairs pending from earlier selections
 * @param modelVersion 0: the latest model
 * @param pendingTtl how long the chosen pairs stay pending before they are released by
 *     themselves (1 ms .. 3650 days); null: the project's default (itself unset: no expiry)
 */
public record SelectOptions(
    int batchSize,
    Strategy strategy,
    CandidateSource candidates,
    List<Pair> pairs,
    List<String> promptIds,
    long maxCandidates,
    long seed,
    boolean includeLabeled,
    boolean includePending,
    long modelVersion,
    Duration pendingTtl) {

  /** Where candidate pairs come from. */
  public enum CandidateSource {
    CROSS_PROMPT,
    WITHIN_PROMPT,
    EXPLICIT
  }

  public SelectOptions {
    pairs = pairs == null ? List.of() : List.copyOf(pairs);
    candidates = candidates == null ? CandidateSource.CROSS_PROMPT : candidates;
    promptIds = promptIds == null ? List.of() : List.copyOf(promptIds);
    if (candidates == CandidateSource.EXPLICIT && !promptIds.isEmpty()) {
      throw new IllegalArgumentException("promptIds restrict CROSS_PROMPT or WITHIN_PROMPT candidates; explicit pairs"
          + " cannot be restricted: leave promptIds empty, or choose the pairs of those prompts yourself");
    }
  }

  /** The options without a pending TTL (the project's default applies). */
  public SelectOptions(int batchSize, Strategy strategy, CandidateSource candidates, List<Pair> pairs,
      List<String> promptIds, long maxCandidates, long seed, boolean includeLabeled, boolean includePending,
      long modelVersion) {
    this(batchSize, strategy, candidates, pairs, promptIds, maxCandidates, seed, includeLabeled, includePending,
        modelVersion, null);
  }

  public static SelectOptions of(int batchSize, Strategy strategy) {
    return new SelectOptions(
        batchSize, strategy, CandidateSource.CROSS_PROMPT, List.of(), List.of(), 0, 0, false, false, 0);
  }

  /** Pairs of this selection left unlabeled for ttl are released by themselves (null: the project's default). */
  public SelectOptions withPendingTtl(Duration ttl) {
    return new SelectOptions(batchSize, strategy, candidates, pairs, promptIds, maxCandidates, seed, includeLabeled,
        includePending, modelVersion, ttl);
  }

  public SelectOptions withCandidates(CandidateSource source) {
    return new SelectOptions(batchSize, strategy, source, pairs, promptIds, maxCandidates, seed, includeLabeled,
        includePending, modelVersion, pendingTtl);
  }

  public SelectOptions withPairs(List<Pair> explicitPairs) {
    return new SelectOptions(batchSize, strategy, CandidateSource.EXPLICIT, explicitPairs, promptIds, maxCandidates,
        seed, includeLabeled, includePending, modelVersion, pendingTtl);
  }

  /**
   * Restricts CROSS_PROMPT / WITHIN_PROMPT candidates to responses to these prompts (e.g. this
   * round's); empty: every prompt. With EXPLICIT pairs it throws IllegalArgumentException.
   */
  public SelectOptions withPromptIds(List<String> ids) {
    return new SelectOptions(batchSize, strategy, candidates, pairs, ids, maxCandidates, seed, includeLabeled,
        includePending, modelVersion, pendingTtl);
  }

  public SelectOptions withSeed(long newSeed) {
    return new SelectOptions(batchSize, strategy, candidates, pairs, promptIds, maxCandidates, newSeed,
        includeLabeled, includePending, modelVersion, pendingTtl);
  }

  public SelectOptions withMaxCandidates(long cap) {
    return new SelectOptions(batchSize, strategy, candidates, pairs, promptIds, cap, seed, includeLabeled,
        includePending, modelVersion, pendingTtl);
  }
}
