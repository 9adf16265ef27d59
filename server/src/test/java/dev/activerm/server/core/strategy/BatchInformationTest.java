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

  /** |got - ref| / |ref| (ref > 0). */
  private static double rel(double got, double ref) {
    return Math.abs(got - ref) / Math.abs(ref);
  }

  @Test
  void ownFormForStrategiesWithoutTheMatrixMatchesTheLaplacianFormTo1e12() {
    // The form a DOPT or RANDOM selection's gain used before (lambda I + F(labeled) from
    // LabeledInformation, Phi^T L Phi), against the gain's own SYRK of the labeled rows.
    Random r = new Random(5);
    World[] worlds = {
        world(21, 400, 32, null, 120), // T near 2n: the SYRK form
        world(22, 2000, 64, null, 700),
        world(23, 300, 24, Ref.TanhModel.random(r, 24, 40), 150), // a network's features
    };
    for (World w : worlds) {
      int h = w.model().featureDim();
      for (int batch : new int[] {1, 16, h + 9}) { // B x B and, wider than h, h x h
        PairList pick = pairs(new Random(batch), w.rows(), batch);
        StrategyInput in = w.input(Strategy.DOPT);
        assertThat(BatchInformation.needsLabeledInformation(w.lab().size(), h, batch)).isTrue();
        StrategyInput dense = withDense(in);
        double before = BatchInformation.logDetGain(dense, pick.a(), pick.b(), () -> dense.labeledInfo().factor());
        double own = BatchInformation.ownLogDetGain(in, pick.a(), pick.b(), () -> {
          throw new AssertionError("the SYRK form must not build LabeledInformation");
        });
        assertThat(before).isPositive();
        assertThat(rel(own, before)).as("h %d, n %d, batch %d", h, w.lab().size(), batch).isLessThan(1e-12);
        assertThat(own).isCloseTo(w.reference(pick.a(), pick.b()), within(1e-5 * before));
      }
    }
  }

  @Test
  void ownFormOnAFewHeavilyLabeledRowsUsesTheSharedLaplacianMatrix() {
    // 600 labeled pairs among 120 responses: T < n / 2, so Phi^T L Phi is the cheaper product.
    World w = world(24, 120, 16, null, 600);
    PairList pick = pairs(new Random(3), 120, 8);
    StrategyInput in = w.input(Strategy.RANDOM);
    LabeledInformation li = LabeledInformation.compute(in);
    int[] calls = {0};
    double own = BatchInformation.ownLogDetGain(in, pick.a(), pick.b(), () -> {
      calls[0]++;
      return li;
    });
    assertThat(calls[0]).isEqualTo(1);
    assertThat(own).isEqualTo(BatchInformation.logDetGain(in.withLabeledInfo(li), pick.a(), pick.b()));
    assertThat(li.factorIfComputed()).as("the gain leaves the shared factor alone").isNull();
  }

  @Test
  void gainWithItsOwnRowFactorMatchesTheSharedOjAlgoFactorTo1e12() {
    // What PAST_AWARE_DOPT's, GREEDY_DOPT's, BATCH_DOPT's ... gain used before: the shared
    // matrix's own (ojAlgo) factor. Now the gain factors the shared matrix itself.
    Random r = new Random(6);
    World[] worlds = {world(31, 400, 32, null, 120), world(32, 300, 24, Ref.TanhModel.random(r, 24, 40), 150)};
    for (World w : worlds) {
      int h = w.model().featureDim();
      for (int batch : new int[] {1, 16, h + 9}) {
        PairList pick = pairs(new Random(batch), w.rows(), batch);
        StrategyInput in = withDense(w.input(Strategy.PAST_AWARE_DOPT));
        double now = BatchInformation.logDetGain(in, pick.a(), pick.b());
        assertThat(in.labeledInfo().factorIfComputed()).isNull();
        double shared = BatchInformation.logDetGain(in, pick.a(), pick.b(), () -> in.labeledInfo().factor());
        assertThat(rel(now, shared)).as("h %d, batch %d", h, batch).isLessThan(1e-12);
        // A strategy that factors the matrix itself (whitened GREEDY_DOPT) keeps that factor's bits.
        StrategyInput greedy = withDense(w.input(Strategy.GREEDY_DOPT));
        assertThat(BatchInformation.strategyFactors(greedy)).isTrue();
        assertThat(BatchInformation.logDetGain(greedy, pick.a(), pick.b()))
            .isEqualTo(BatchInformation.logDetGain(greedy, pick.a(), pick.b(), () -> greedy.labeledInfo().factor()));
      }
    }
  }

  @Test
  void ownFormSpreadOverSeveralSyrkChunksMatchesOneChunk() {
    World w = world(25, 3000, 8, null, 1400);
    PairList pick = pairs(new Random(4), 3000, 6);
    StrategyInput in = w.input(Strategy.DOPT);
    StrategyInput dense = withDense(in);
    double before = BatchInformation.logDetGain(dense, pick.a(), pick.b(), () -> dense.labeledInfo().factor());
    double own = BatchInformation.ownLogDetGain(in, pick.a(), pick.b(), () -> {
      throw new AssertionError("T >= n / 2 here");
    });
    assertThat(rel(own, before)).isLessThan(1e-12);
    // The same through 7 chunks of 200 rows of Y (the default chunk holds them all).
    double chunked = BatchInformation.ownLogDetGain(in, pick.a(), pick.b(), null, 200 * 8);
    assertThat(rel(chunked, before)).isLessThan(1e-12);
  }

  @Test
  void ownFormWithoutLabelsIsTheGainOverThePrior() {
    World w = world(26, 100, 8, null, 0);
    PairList pick = pairs(new Random(14), 100, 5);
    double own = BatchInformation.ownLogDetGain(w.input(Strategy.DOPT), pick.a(), pick.b(), () -> {
      throw new AssertionError("nothing labeled");
    });
    assertThat(own).isCloseTo(w.reference(pick.a(), pick.b()), within(1e-6));
  }
}
