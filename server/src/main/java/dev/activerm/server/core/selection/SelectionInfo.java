package dev.activerm.server.core.selection;

import dev.activerm.server.core.strategy.Strategy;
import dev.activerm.server.core.strategy.StrategyParams;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import dev.activerm.server.core.project.SelectionLog;

/**
 * A stored selection as the API reports it: chosen pairs (ids) in the order chosen, with scores.
 *
 * @param numPrompts distinct prompts the candidates were restricted to; 0: not restricted
 * @param pendingTtl zero: no expiry; expireTime null then
 * @param states each pair's lifecycle state at read time (empty when pairs are left out)
 * @param computedOn empty for SelectBatch; what computed a registered batch (RegisterSelection), e.g. "spark"
 * @param information what the batch adds (log det gain), or null when it was not measured
 */
public record SelectionInfo(
    String selectionId,
    long modelVersion,
    Strategy strategy,
    long seed,
    int batchSize,
    long numCandidates,
    List<String> aIds,
    List<String> bIds,
    double[] scores,
    Instant createTime,
    Duration wallTime,
    CandidateSource source,
    long numPrompts,
    long maxCandidates,
    boolean includeLabeled,
    boolean includePending,
    StrategyParams params,
    Duration pendingTtl,
    Instant expireTime,
    List<SelectionLog.PairState> states,
    long numLabeled,
    long numPending,
    long numReleased,
    String computedOn,
    Information information) {

  /**
   * The batch's log det gain over lambda I + F(labeled and pending) in nats, per chosen pair,
   * and per pair relative to the reference selection's (the project's first measured one).
   */
  public record Information(double logDetGain, double gainPerLabel, double relativeGainPerLabel,
      String referenceSelectionId) {}
}
