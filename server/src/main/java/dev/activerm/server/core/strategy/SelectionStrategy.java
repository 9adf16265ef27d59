package dev.activerm.server.core.strategy;

/**
 * One family of selection strategies (DESIGN.md, Math): scores the input's candidates and
 * chooses a batch. Implementations are stateless; {@link Strategy} names which one serves
 * each strategy of the API.
 */
public interface SelectionStrategy {
  /** Chooses b (at most the number of candidates) of in.candidates(). */
  StrategyResult select(StrategyInput in, int b);

  /** Runs the strategy the input names, with its batch size capped at the number of candidates. */
  static StrategyResult run(StrategyInput in) {
    int b = Math.min(in.batchSize(), in.candidates().size());
    return in.strategy().implementation().select(in, b);
  }
}
