package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.CancelledException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Both heads poll the caller's cancellation flag inside their loops, and a flag that never fires changes nothing. */
class FitCancellationTest {
  /** False for the first n polls, then true; counts the polls. */
  static final class FiresAfter implements BooleanSupplier {
    final int n;
    final AtomicInteger polls = new AtomicInteger();

    FiresAfter(int n) {
      this.n = n;
    }

    @Override
    public boolean getAsBoolean() {
      return polls.incrementAndGet() > n;
    }
  }

  @Test
  void mlpStopsWithinOneMinibatchOfTheFlag() {
    Planted p = new Planted(40, 6, 1, x -> x[0] - x[1]);
    ComparisonSet data = p.comparisons(100, 2, 0.0, false);
    // 100 comparisons in minibatches of 10: 10 polls per epoch, 1000 epochs would be 10 000 polls.
    MlpFitOptions options = new MlpFitOptions(1e-3, 1000, 10, 0.0, 0.0, 3);
    FiresAfter flag = new FiresAfter(25);
    CancelledException e = catchThrowableOfType(CancelledException.class,
        () -> MlpTrainer.fit(data, new int[] {8, 8}, 1.0, options, 3, null, flag));
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains("MLP epoch 3 of 1000");
    assertThat(flag.polls.get()).isEqualTo(26);
  }

  @Test
  void mlpWithAFlagThatNeverFiresIsBitIdenticalToTheOldEntryPoint() {
    Planted p = new Planted(30, 5, 4, x -> x[0] - x[1]);
    ComparisonSet data = p.comparisons(60, 5, 0.1, true);
    MlpFitOptions options = new MlpFitOptions(1e-2, 4, 16, 0.0, 0.0, 3);
    FiresAfter never = new FiresAfter(Integer.MAX_VALUE);
    MlpTrainer.Result a = MlpTrainer.fit(data, new int[] {6, 4}, 1.0, options, 9, null);
    MlpTrainer.Result b = MlpTrainer.fit(data, new int[] {6, 4}, 1.0, options, 9, null, never);
    assertThat(ModelCodec.encode(new MlpRewardModel(1, b.network())))
        .isEqualTo(ModelCodec.encode(new MlpRewardModel(1, a.network())));
    assertThat(never.polls.get()).isEqualTo(4 * 4); // 4 epochs x ceil(60 / 16) minibatches
  }

  @Test
  void linearStopsAtTheNextNewtonStepOrHessianBlock() {
    Planted p = new Planted(50, 4, 7, x -> 2 * x[0] - x[3]);
    ComparisonSet data = p.comparisons(200, 8, 0.0, false);
    FiresAfter flag = new FiresAfter(3); // iteration 1, its Hessian block, iteration 2, then fire
    CancelledException e = catchThrowableOfType(CancelledException.class,
        () -> new LinearBtFitter(data, 1.0, flag).fit(LinearFitOptions.defaults(), null));
    assertThat(e).isNotNull();
    assertThat(e.getMessage()).contains("Fit cancelled by the caller during LINEAR Hessian");
    assertThat(flag.polls.get()).isEqualTo(4);

    FiresAfter never = new FiresAfter(Integer.MAX_VALUE);
    double[] w = new LinearBtFitter(data, 1.0, never).fit(LinearFitOptions.defaults(), null).weights();
    assertThat(w).containsExactly(new LinearBtFitter(data, 1.0).fit(LinearFitOptions.defaults(), null).weights());
    assertThat(never.polls.get()).isGreaterThan(2);
  }
}
