package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.model.ComparisonSet;
import dev.activerm.server.core.model.LaplacePosterior;
import dev.activerm.server.core.model.LinearBtFitter;
import dev.activerm.server.core.model.LinearFitOptions;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.model.MlpFitOptions;
import dev.activerm.server.core.model.MlpNetwork;
import dev.activerm.server.core.model.MlpRewardModel;
import dev.activerm.server.core.model.MlpTrainer;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.project.EmbeddingValues;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14 item 5, below the API: pools stored before AddResponses bounded |x| (or written by
 * hand) can hold any finite float. Every strategy, both fitters and the Laplace posterior
 * either compute finite results or throw FAILED_PRECONDITION; no other exception (which the
 * API would answer as INTERNAL) and no NaN handed on to be stored.
 */
class StoredMagnitudeProperties {
  static final int ROWS = 12;
  static final int DIM = 3;

  @Provide
  Arbitrary<Double> magnitudes() {
    return Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.doubles().between(-30, 38.47).ofScale(3).map(e -> Math.pow(10, e))),
        Tuple.of(1, Arbitraries.of(1e-30, 1e8, 1e20, 3e38)));
  }

  private static float[] pool(double magnitude, boolean spike, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[ROWS * DIM];
    for (int i = 0; i < x.length; i++) {
      double g = r.nextGaussian();
      x[i] = (float) (spike ? (i < DIM ? magnitude * Math.signum(g) : g) : magnitude * g);
    }
    return x;
  }

  private static PairList allPairs() {
    int n = ROWS * (ROWS - 1) / 2;
    int[] a = new int[n];
    int[] b = new int[n];
    int k = 0;
    for (int i = 0; i < ROWS; i++) {
      for (int j = i + 1; j < ROWS; j++) {
        a[k] = i;
        b[k++] = j;
      }
    }
    return new PairList(a, b);
  }

  /** Runs body; passes if it returns normally or throws FAILED_PRECONDITION. */
  private static boolean computedOrRefused(Runnable body) {
    try {
      body.run();
      return true;
    } catch (ActiveRmException e) {
      assertThat(e.kind()).as(e.getMessage()).isEqualTo(ActiveRmException.Kind.FAILED_PRECONDITION);
      return false;
    }
  }

  @Property(tries = 100)
  void everyStrategyComputesFiniteScoresOrRefuses(
      @ForAll("magnitudes") double magnitude, @ForAll boolean spike, @ForAll boolean mlp, @ForAll long seed) {
    float[] x = pool(magnitude, spike, seed);
    SplittableRandom r = new SplittableRandom(seed + 1);
    RewardModel model;
    if (mlp) {
      model = new MlpRewardModel(1, MlpNetwork.init(DIM, new int[] {8, 8}, seed));
    } else {
      double[] w = new double[DIM];
      for (int j = 0; j < DIM; j++) {
        w[j] = r.nextGaussian();
      }
      model = new LinearRewardModel(1, w);
    }
    PairList all = allPairs();
    PairList lab = new PairList(Arrays.copyOf(all.a(), 8), Arrays.copyOf(all.b(), 8));
    PairList cand = new PairList(Arrays.copyOfRange(all.a(), 8, all.size()), Arrays.copyOfRange(all.b(), 8, all.size()));
    double[] labW = new double[lab.size()];
    Arrays.fill(labW, 1.0);
    for (Strategy s : Strategy.values()) {
      StrategyInput in = new StrategyInput(Ref.pool(x, ROWS, DIM), model, cand, lab, labW, 1.0, s,
          StrategyParams.DEFAULTS.resolve(), seed, 4, CancelledException.NEVER, null);
      StrategyResult[] out = new StrategyResult[1];
      boolean computed = computedOrRefused(() -> out[0] = SelectionStrategy.run(in));
      // Within the bound AddResponses enforces, every strategy must compute, not refuse.
      assertThat(computed || magnitude > EmbeddingValues.MAX_ABS)
          .as("%s computed at magnitude %s (spike %s, mlp %s)", s, magnitude, spike, mlp).isTrue();
      if (computed) {
        for (double q : out[0].score()) {
          assertThat(q).as("%s score at magnitude %s", s, magnitude).isFinite();
        }
      }
    }
  }

  private static ComparisonSet comparisons(float[] x) {
    PairList all = allPairs();
    int n = 20;
    double[] y = new double[n];
    double[] w = new double[n];
    for (int k = 0; k < n; k++) {
      y[k] = k % 3 == 0 ? 0.5 : k % 2;
      w[k] = 1;
    }
    return new ComparisonSet(x, DIM, Arrays.copyOf(all.a(), n), Arrays.copyOf(all.b(), n), y, w);
  }

  @Property(tries = 100)
  void fitsAndPosteriorsAreFiniteOrRefused(
      @ForAll("magnitudes") double magnitude, @ForAll boolean spike, @ForAll long seed,
      @ForAll("learningRates") double learningRate) {
    ComparisonSet data = comparisons(pool(magnitude, spike, seed));
    LinearBtFitter.Result[] lin = new LinearBtFitter.Result[1];
    if (computedOrRefused(() -> lin[0] = new LinearBtFitter(data, 1.0).fit(LinearFitOptions.defaults(), null))) {
      assertThat(lin[0].report().loss()).isFinite();
      assertThat(Arrays.stream(lin[0].weights()).allMatch(Double::isFinite)).as("finite weights").isTrue();
      RewardModel m = new LinearRewardModel(1, lin[0].weights());
      computedOrRefused(() -> LaplacePosterior.build(m, data, 1.0));
    }
    MlpTrainer.Result[] net = new MlpTrainer.Result[1];
    MlpFitOptions options = new MlpFitOptions(learningRate, 3, 8, 0, 0, 3);
    if (computedOrRefused(() -> net[0] = MlpTrainer.fit(data, new int[] {8, 8}, 1.0, options, seed, null))) {
      assertThat(net[0].report().loss()).isFinite();
      assertThat(net[0].network().isFinite()).isTrue();
      RewardModel m = new MlpRewardModel(1, net[0].network());
      computedOrRefused(() -> LaplacePosterior.build(m, data, 1.0));
    }
  }

  @Provide
  Arbitrary<Double> learningRates() {
    return Arbitraries.of(1e-3, 1.0, 1e30);
  }
}
