package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.ActiveRmException;

/**
 * One family of selection strategies (DESIGN.md, Math): scores the input's candidates and
 * chooses a batch. Implementations are stateless; {@link Strategy} names which one serves
 * each strategy of the API.
 */
public interface SelectionStrategy {
  /** Chooses b (at most the number of candidates) of in.candidates(). */
  StrategyResult select(StrategyInput in, int b);

  /**
   * Runs the strategy the input names, with its batch size capped at the number of candidates,
   * after checking its working memory fits ({@link SelectionMemory}, RESOURCE_EXHAUSTED if not).
   * A chosen score that is not finite (features or rewards beyond double range, from
   * embeddings stored before AddResponses bounded them) is FAILED_PRECONDITION: a selection is
   * stored with its scores, and a NaN score must never be. A small selection runs serially
   * ({@link WorkSize}).
   */
  static StrategyResult run(StrategyInput in) {
    SelectionMemory.check(in);
    int b = Math.min(in.batchSize(), in.candidates().size());
    StrategyResult r = WorkSize.run(in, () -> in.strategy().implementation().select(in, b));
    for (int i = 0; i < r.score().length; i++) {
      if (!Double.isFinite(r.score()[i])) {
        throw ActiveRmException.failedPrecondition("SelectBatch: " + in.strategy() + " computed a score of "
            + r.score()[i] + " for the pair it chose at position " + i + ": the project's embeddings or the"
            + " model's rewards are too large for the computation. Rescale the embeddings to O(1) values, or"
            + " choose another strategy. Nothing was stored");
      }
    }
    return r;
  }
}
