package dev.activerm.server.core.strategy;

import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/** The estimator against sizes worked out by hand (issue 14 item 10). */
class SelectionMemoryTest {
  private static final StrategyParams DEFAULTS = StrategyParams.DEFAULTS.resolve();

  @Test
  void aLinearHeadAtDimension65536NeedsItsHxHMatricesForEveryFisherStrategy() {
    long h2 = 65_536L * 65_536L; // 2^32 doubles per matrix: 32 GiB
    for (Strategy s : new Strategy[] {Strategy.OLS_DOPT, Strategy.DOPT, Strategy.PAST_AWARE_DOPT, Strategy.GREEDY_DOPT,
        Strategy.BALD, Strategy.BATCHBALD}) {
      SelectionMemory.Estimate e = SelectionMemory.estimate(s, DEFAULTS, 100, 65_536, 4950, 10, 10);
      assertThat(e.square()).as("%s", s).isEqualTo(6 * 8 * h2);
      assertThat(e.dominant()).as("%s", s).isEqualTo(SelectionMemory.Part.SQUARE);
    }
    // Strategies without an h x h matrix need only the features: 100 rows x 65536 float32 + the row index.
    SelectionMemory.Estimate gap = SelectionMemory.estimate(Strategy.MAX_ENTROPY, DEFAULTS, 100, 65_536, 4950, 0, 10);
    assertThat(gap.square()).isZero();
    assertThat(gap.features()).isEqualTo(100L * 65_536 * 4 + 100 * 4);
  }

  @Test
  void batchBaldAtItsMaximaIsDominatedByConfigurationsTimesCandidates() {
    StrategyParams max = new StrategyParams(0, 0, 0, 100_000, 1_000_000, 1 << 16).resolve();
    SelectionMemory.Estimate e = SelectionMemory.estimate(Strategy.BATCHBALD, max, 100_000, 64, 1_000_000, 1000, 100);
    // 2 * 65536 configurations x 10^6 candidates doubles = 1.05e12 bytes, and
    // 10^6 candidates x 10^5 samples x (4 + 16) x 2 = 4e12 bytes of label probabilities.
    long configs = 2L * 65_536 * 1_000_000 * 8;
    long labels = 2L * 1_000_000 * 100_000 * (4 + 16);
    assertThat(e.batchBald()).isGreaterThanOrEqualTo(configs + labels);
    assertThat(e.dominant()).isEqualTo(SelectionMemory.Part.BATCHBALD);
  }

  @Test
  void coresetCountsItsDistancesPerCluster() {
    StrategyParams k1000 = new StrategyParams(0, 1000, 0, 0, 0, 0).resolve();
    SelectionMemory.Estimate e = SelectionMemory.estimate(Strategy.CORESET, k1000, 100_000, 16, 1_000_000, 0, 10);
    assertThat(e.coreset()).isGreaterThanOrEqualTo(1_000_000L * 1000 * 16);
    assertThat(e.dominant()).isEqualTo(SelectionMemory.Part.CORESET);
  }

  @Test
  void everydaySizesNeedLittle() {
    // D = 512, 1 000 responses, 10 000 candidates, default knobs: well under 100 MiB.
    for (Strategy s : Strategy.values()) {
      SelectionMemory.Estimate e = SelectionMemory.estimate(s, DEFAULTS, 1000, 512, 10_000, 100, 10);
      assertThat(e.total()).as("%s", s).isLessThan(100L << 20);
    }
  }

  @Test
  void overflowingSizesSaturate() {
    StrategyParams max = new StrategyParams(0, 0, 0, 100_000, 1_000_000, 1 << 16).resolve();
    SelectionMemory.Estimate e =
        SelectionMemory.estimate(Strategy.BATCHBALD, max, Integer.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE / 2, 0, 1);
    assertThat(e.total()).isEqualTo(Long.MAX_VALUE);
  }
}
