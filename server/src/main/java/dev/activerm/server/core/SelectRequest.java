package dev.activerm.server.core;

import dev.activerm.server.core.select.Strategy;
import dev.activerm.server.core.select.StrategyParams;
import java.util.List;

/**
 * A SelectBatch call in domain terms.
 *
 * @param explicitA a ids of the explicit pairs (EXPLICIT only), same length as explicitB
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
    long maxCandidates,
    long seed,
    boolean includeLabeled,
    boolean includePending,
    long modelVersion,
    StrategyParams params) {

  public SelectRequest {
    explicitA = List.copyOf(explicitA);
    explicitB = List.copyOf(explicitB);
  }
}
