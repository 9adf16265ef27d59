package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.Parallel;
import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.pairs.PairList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The work-size policy: which sizes run serially, and that the serial path chooses what the
 * parallel one chooses. The Java sections run the same partitions either way (bit-identical);
 * OpenBLAS's dgemm, strsm and dpotrf round their last bits differently on one thread than on
 * two at some sizes, so scores are compared at 1e-6 relative (float32 TRSM rounding is ~1e-7
 * relative per entry; the differences measured at D = 256 were 1e-8) and picks exactly. Each
 * mode on its own is bit-identical run to run.
 */
class WorkSizeTest {
  private static final double REL = 1e-6;

  @AfterAll
  static void restoreThreads() {
    int n = Runtime.getRuntime().availableProcessors();
    Blas.setThreads(n);
    Parallel.setThreads(n);
  }

  @Test
  void labelEfficiencySizeIsSerialAndTheSweepsLargeCellsAreNot() {
    // D = 256 LINEAR, 16 000 responses, 14 000 candidates, 1 000 labeled (issue 13's round).
    assertThat(WorkSize.serial(sized(16_000, 256, 14_000, 1_000))).isTrue();
    // The sweep at R = 10^4, D = 1 024 (100 000 candidates over 10 000 rows).
    assertThat(WorkSize.serial(sized(10_000, 1_024, 100_000, 1_000))).isFalse();
    assertThat(WorkSize.serial(sized(100_000, 256, 1_000_000, 1_000))).isFalse();
  }

  @Test
  void serialPathChoosesWhatTheParallelOneChooses() {
    // Sizes at which the parallel path really splits: 40 000 candidates are 4 parts of the pair
    // loops, ~3 000 touched rows 40 parts of the Laplacian product, two BLAS threads.
    BenchData data = BenchData.linear(3_000, 40_000, 64, 2, 200);
    for (Strategy s : List.of(Strategy.OLS_DOPT, Strategy.DOPT, Strategy.PAST_AWARE_DOPT, Strategy.BATCH_DOPT,
        Strategy.VOPT, Strategy.GREEDY_DOPT, Strategy.BALD, Strategy.BATCHBALD, Strategy.CORESET, Strategy.MAX_ENTROPY)) {
      StrategyInput in = input(data, s);
      StrategyResult par = s.implementation().select(in, 16);
      StrategyResult ser = Parallel.serially(() -> s.implementation().select(in, 16));
      assertThat(ser.index()).as(s + " picks").containsExactly(par.index());
      for (int i = 0; i < par.score().length; i++) {
        assertThat(ser.score()[i]).as(s + " score " + i)
            .isCloseTo(par.score()[i], org.assertj.core.api.Assertions.within(REL * Math.abs(par.score()[i]) + 1e-300));
      }
      assertThat(Parallel.serially(() -> s.implementation().select(in, 16)).score()).as(s + " serial, again")
          .containsExactly(ser.score());
      assertThat(s.implementation().select(in, 16).score()).as(s + " parallel, again").containsExactly(par.score());
    }
  }

  @Test
  void selectionStrategyRunAppliesThePolicy() {
    BenchData data = BenchData.linear(3_000, 40_000, 64, 2, 200);
    StrategyInput in = input(data, Strategy.DOPT);
    assertThat(WorkSize.serial(in)).isTrue();
    StrategyResult viaRun = SelectionStrategy.run(in);
    StrategyResult serial = Parallel.serially(() -> Strategy.DOPT.implementation().select(in, 16));
    assertThat(viaRun.index()).containsExactly(serial.index());
    assertThat(viaRun.score()).containsExactly(serial.score());
  }

  private static StrategyInput input(BenchData data, Strategy s) {
    return new StrategyInput(data.pool(), data.model(), data.cand(), data.lab(), data.labW(), 1.0, s,
        StrategyParams.DEFAULTS.resolve(), 5, 16, CancelledException.NEVER, null);
  }

  /** An input of the given sizes (the policy reads sizes only: no data behind the pool). */
  private static StrategyInput sized(int rows, int dim, int candidates, int labeled) {
    RowSource pool = new RowSource() {
      public int rows() {
        return rows;
      }

      public int dim() {
        return dim;
      }

      public void copyRow(int row, float[] dst, int offset) {
        throw new UnsupportedOperationException();
      }
    };
    PairList cand = new PairList(new int[candidates], new int[candidates]);
    PairList lab = new PairList(new int[labeled], new int[labeled]);
    return new StrategyInput(pool, new LinearRewardModel(1, new double[dim]), cand, lab, new double[labeled], 1.0,
        Strategy.DOPT, StrategyParams.DEFAULTS.resolve(), 0, 64, CancelledException.NEVER, null);
  }
}
