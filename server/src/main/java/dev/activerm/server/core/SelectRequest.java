package dev.activerm.server.core;

import dev.activerm.server.core.select.Strategy;
import dev.activerm.server.core.select.StrategyParams;
import java.util.List;

/**
 * A SelectBatch call in domain terms.
 *
 * @param explicitA a ids of the explicit pairs (EXPLICIT only), same length as explicitB
 * @param promptIds WITHIN_PROMPT / CROSS_PROMPT only: restrict the candidates to responses to
 *     these prompts (duplicates allowed); empty: every prompt
 * @param maxCandidates 0: 1 000 000
 * @param modelVersion 0: the latest
 */
public record SelectRequest(
    String projectId,
    int batchSize,
    Strategy strategy,
    CandidateSource source,
    List<String> explicitA,
    List<String> explicitB,
    List<String> promptIds,
    long maxCandidates,
    long seed,
    boolean includeLabeled,
    boolean includePending,
    long modelVersion,
    StrategyParams params) {

  public SelectRequest {
    explicitA = List.copyOf(explicitA);
    explicitB = List.copyOf(explicitB);
    promptIds = List.copyOf(promptIds);
    if (source == CandidateSource.EXPLICIT && !promptIds.isEmpty()) {
      throw new IllegalArgumentException("prompt ids restrict WITHIN_PROMPT / CROSS_PROMPT candidates only");
    }
  }

  /** The request's name of the prompt_ids field, e.g. "candidates.cross_prompt.prompt_ids". */
  public String promptIdsField() {
    return "candidates." + (source == CandidateSource.WITHIN_PROMPT ? "within_prompt" : "cross_prompt")
        + ".prompt_ids";
  }
}
