package dev.activerm.server.core.strategy;

import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.PairList;
import java.util.function.BooleanSupplier;

/**
 * Everything a strategy reads: plain arrays and a row source, no project state, no locks,
 * no gRPC.
 *
 * @param pool embeddings by pool row
 * @param model the fitted model, or null (then phi is the embedding; only model-free strategies)
 * @param candidates candidate pairs (pool rows)
 * @param labeled labeled and pending pairs (pool rows), one entry per observation
 * @param labeledWeights comparison weight of each labeled entry (1 for pending)
 * @param lambda prior precision of the head
 * @param params the strategy's knobs, defaults resolved
 * @param labeledInfo lambda I + F(labeled) with its factor, if already known (a cache hit), or null
 */
public record StrategyInput(
    RowSource pool,
    RewardModel model,
    PairList candidates,
    PairList labeled,
    double[] labeledWeights,
    double lambda,
    Strategy strategy,
    StrategyParams params,
    long seed,
    int batchSize,
    BooleanSupplier cancelled,
    LabeledInformation labeledInfo) {

  /** The same input with a known lambda I + F(labeled) (from the derived-state cache). */
  public StrategyInput withLabeledInfo(LabeledInformation info) {
    return new StrategyInput(pool, model, candidates, labeled, labeledWeights, lambda, strategy, params, seed,
        batchSize, cancelled, info);
  }

  /** Seed for a strategy's own randomness, decorrelated from candidate sampling (SplitMix64 finaliser). */
  public long strategySeed() {
    long z = seed + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** lambda I + F(labeled): the one given, or computed from the labeled pairs. */
  public LabeledInformation labeledInformation() {
    return labeledInfo != null ? labeledInfo : LabeledInformation.compute(this);
  }
}
