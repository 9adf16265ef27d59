package dev.activerm.server.core.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.PairList;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 section 5: a batch's log det gain (BatchInformation) against the explicit
 * definition, log det(lambda I + F(labeled and batch)) - log det(lambda I + F(labeled)), both
 * h x h matrices built from explicit z_k in double and factored by the reference Cholesky
 * (Ref), in each of its three forms: dense B x B, dense h x h (batch wider than h) and
 * Woodbury (few labeled pairs on wide features).
 */
class BatchInformationTest {
  private static final double LAMBDA = 0.7;

  private record World(float[] x, int rows, int dim, RewardModel model, PairList lab, double[] labW) {
    StrategyInput input(Strategy s) {
      return new StrategyInput(Ref.pool(x, rows, dim), model, new PairList(new int[0], new int[0]), lab, labW,
          LAMBDA, s, StrategyParams.DEFAULTS.resolve(), 0, 1, CancelledException.NEVER, null);
    }

    /** lambda I + sum w_k v_k z_k z_k^T over the labeled pairs and, if given, the batch (weight 1). */
    double[][] matrix(int[] a, int[] b) {
      int h = model.featureDim();
      double[][] m = Ref.eye(h, LAMBDA);
      for (int k = 0; k < lab.size(); k++) {
        double[] z = Ref.z(model, x, dim, lab.a()[k], lab.b()[k]);
        Ref.addOuter(m, z, labW[k] * Ref.v(model, z));
      }
      for (int k = 0; a != null && k < a.length; k++) {
        double[] z = Ref.z(model, x, dim, a[k], b[k]);
        Ref.addOuter(m, z, Ref.v(model, z));
      }
      return m;
    }

    double reference(int[] a, int[] b) {
      return Ref.logDet(matrix(a, b)) - Ref.logDet(matrix(null, null));
    }
  }

  private static PairList pairs(Random r, int rows, int n) {
    int[] a = new int[n];
    int[] b = new int[n];
    for (int k = 0; k < n; k++) {
      a[k] = r.nextInt(rows);
      do {
        b[k] = r.nextInt(rows);
      } while (b[k] == a[k]);
    }
    return new PairList(a, b);
  }

  private static World world(long seed, int rows, int dim, RewardModel model, int labeled) {
    Random r = new Random(seed);
    float[] x = Ref.gaussian(r, rows * dim, 1.0);
    double[] w = new double[labeled];
    for (int k = 0; k < labeled; k++) {
      w[k] = 0.5 + r.nextDouble();
    }
    return new World(x, rows, dim, model == null ? Ref.linear(r, dim, 1.0 / Math.sqrt(dim)) : model,
        pairs(r, rows, labeled), w);
  }

  private static StrategyInput withDense(StrategyInput in) {
    return in.withLabeledInfo(LabeledInformation.compute(in));
  }

  @Test
  void denseBatchGramMatchesTheExplicitLogDet() {
    World w = world(1, 300, 16, null, 120);
    PairList batch = pairs(new Random(11), 300, 10);
    assertThat(BatchInformation.needsLabeledInformation(120, 16, 10)).isTrue();
    double got = BatchInformation.logDetGain(withDense(w.input(Strategy.RANDOM)), batch.a(), batch.b());
    double ref = w.reference(batch.a(), batch.b());
    assertThat(ref).isPositive();
    // float32 features (centred in float32), everything after in double: about 1e-7 relative.
    assertThat(got).isCloseTo(ref, within(1e-5 * ref));
  }

  @Test
  void batchWiderThanTheFeaturesUsesTheHxHFormAndMatches() {
    World w = world(2, 300, 12, null, 30);
    PairList batch = pairs(new Random(12), 300, 40);
    double got = BatchInformation.logDetGain(withDense(w.input(Strategy.MAX_ENTROPY)), batch.a(), batch.b());
    double ref = w.reference(batch.a(), batch.b());
    assertThat(got).isCloseTo(ref, within(1e-5 * ref));
  }

  @Test
  void woodburyFormMatchesTheExplicitLogDetOnWideFeatures() {
    Random r = new Random(3);
    RewardModel tanh = Ref.TanhModel.random(r, 24, 160);
    World w = world(3, 200, 24, tanh, 30);
    PairList batch = pairs(new Random(13), 200, 8);
    assertThat(BatchInformation.needsLabeledInformation(30, 160, 8)).isFalse();
    // No labeled information given: the Woodbury form must not need it.
    double got = BatchInformation.logDetGain(w.input(Strategy.RANDOM), batch.a(), batch.b());
    double ref = w.reference(batch.a(), batch.b());
    assertThat(got).isCloseTo(ref, within(1e-5 * ref));
    double dense = BatchInformation.logDetGain(withDense(w.input(Strategy.RANDOM)), batch.a(), batch.b());
    assertThat(dense).isCloseTo(ref, within(1e-5 * ref));
  }

  @Test
  void withNothingLabeledTheGainIsThatOverThePriorAndAnEmptyBatchAddsNothing() {
    World w = world(4, 100, 8, null, 0);
    PairList batch = pairs(new Random(14), 100, 5);
    double got = BatchInformation.logDetGain(withDense(w.input(Strategy.RANDOM)), batch.a(), batch.b());
    assertThat(got).isCloseTo(w.reference(batch.a(), batch.b()), within(1e-6));
    assertThat(BatchInformation.logDetGain(withDense(w.input(Strategy.RANDOM)), new int[0], new int[0]))
        .isZero();
  }

  @Test
  void theOwnCostBoundLeavesOnlyLargeDenseCasesUnmeasured() {
    // The 512-wide MLP default with 10 000 labels: 2.6 GFLOP + 0.04, measured for RANDOM too.
    assertThat(BatchInformation.ownFlops(10_000, 512, 64)).isLessThan(BatchInformation.MAX_OWN_FLOPS);
    // D = 4 096 LINEAR with 10 000 labels: ~190 GFLOP, not measured unless the strategy built M anyway.
    assertThat(BatchInformation.ownFlops(10_000, 4096, 64)).isGreaterThan(BatchInformation.MAX_OWN_FLOPS);
    // Few labels on wide features: the Woodbury form, n^2 h.
    assertThat(BatchInformation.ownFlops(1000, 4096, 64)).isCloseTo(1e6 * 4096 + 1e9 / 3, within(1.0));
  }
}
