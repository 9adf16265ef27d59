package dev.activerm.server.core.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.PairList;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * lambda I + F(labeled) is factored only when a strategy asks for the factor: PAST_AWARE_DOPT
 * adds the matrix to F(candidates) and never needs it (issue 13: it paid a second h^3 / 3
 * Cholesky). The fixture makes lambda I + F(labeled) exactly singular (lambda = 0 and a pool
 * whose last coordinate is 0, so that row and column of F are exact zeros) while the design
 * matrix eps I + F(cand) + F(labeled) is positive definite.
 */
class LabeledInformationTest {
  private static final int ROWS = 30;
  private static final int DIM = 3;

  private static StrategyInput input(Strategy s) {
    Random r = new Random(21);
    float[] x = new float[ROWS * DIM];
    for (int i = 0; i < ROWS; i++) {
      x[i * DIM] = (float) r.nextGaussian();
      x[i * DIM + 1] = (float) r.nextGaussian();
    }
    RewardModel m = Ref.linear(r, DIM, 0.7);
    int[] ca = new int[60];
    int[] cb = new int[60];
    for (int k = 0; k < ca.length; k++) {
      ca[k] = k % ROWS;
      cb[k] = (k * 7 + 3) % ROWS;
    }
    PairList lab = new PairList(new int[] {0, 2, 4, 6}, new int[] {1, 3, 5, 7});
    double[] labW = new double[lab.size()];
    Arrays.fill(labW, 1.0);
    return new StrategyInput(Ref.pool(x, ROWS, DIM), m, new PairList(ca, cb), lab, labW, 0.0, s,
        StrategyParams.DEFAULTS.resolve(), 0, 5, CancelledException.NEVER, null);
  }

  @Test
  void pastAwareDoesNotFactorTheLabeledInformation() {
    StrategyInput in = input(Strategy.PAST_AWARE_DOPT);
    StrategyResult res = SelectionStrategy.run(in);
    assertThat(res.index()).hasSize(5);
    for (double q : res.score()) {
      assertThat(q).isFinite().isPositive();
    }
  }

  @Test
  void theFactorStillFailsAsBeforeWhereItIsUsed() {
    LabeledInformation li = LabeledInformation.compute(input(Strategy.GREEDY_DOPT));
    assertThat(li.matrix()[DIM * DIM - 1]).as("last diagonal entry").isZero();
    for (int attempt = 0; attempt < 2; attempt++) {
      assertThatThrownBy(li::factor)
          .isInstanceOfSatisfying(ActiveRmException.class,
              e -> assertThat(e.kind()).isEqualTo(ActiveRmException.Kind.FAILED_PRECONDITION))
          .hasMessageContaining("lambda I + F(labeled) with lambda = 0.0")
          .hasMessageContaining("is not positive definite");
    }
    assertThatThrownBy(() -> SelectionStrategy.run(input(Strategy.GREEDY_DOPT)))
        .isInstanceOf(ActiveRmException.class)
        .hasMessageContaining("lambda I + F(labeled) with lambda = 0.0");
  }
}
