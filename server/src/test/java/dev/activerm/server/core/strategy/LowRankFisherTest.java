package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.LaplacianGram;
import dev.activerm.server.core.model.MlpNetwork;
import dev.activerm.server.core.model.MlpRewardModel;
import dev.activerm.server.core.pairs.PairList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 12 section 1: an MLP head [512, 512, 512] on 2-D inputs gives features of numerical
 * rank far below h, so F = Phi^T L Phi is PSD only up to its rounding; in float32 that rounding
 * (about 1e-5 * max|F|) is larger than the default ridge 1e-6 * trace / h and Cholesky fails.
 * Compared with explicit z_k z_k^T sums in double (an independent reference).
 */
class LowRankFisherTest {
  private static final int ROWS = 400;
  private static final int PAIRS = 3000;

  private static float[] toyPool(Random r) {
    float[] x = new float[ROWS * 2];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (2 * r.nextDouble() - 1);
    }
    return x;
  }

  private static PairList pairs(Random r, int n) {
    int[] a = new int[n];
    int[] b = new int[n];
    for (int k = 0; k < n; k++) {
      a[k] = r.nextInt(ROWS);
      do {
        b[k] = r.nextInt(ROWS);
      } while (b[k] == a[k]);
    }
    return new PairList(a, b);
  }

  private static MlpRewardModel wideMlp(long seed) {
    return wideMlp(seed, 512, 512, 512);
  }

  private static MlpRewardModel wideMlp(long seed, int... hidden) {
    return new MlpRewardModel(1, MlpNetwork.init(2, hidden, seed));
  }

  @Test
  void designStrategiesScoreAWideMlpOnTwoDimensionalInputs() {
    designStrategiesScore(512, 512, 512);
  }

  /** h = 2 048 features of rank <= 64: F from LaplacianGram's lower-triangle panels, the factor from LAPACK. */
  @Test
  void designStrategiesScoreAnLlmWidthMlpOnTwoDimensionalInputs() {
    designStrategiesScore(64, 2048);
  }

  private static void designStrategiesScore(int... hidden) {
    Random r = new Random(12);
    float[] x = toyPool(r);
    MlpRewardModel m = wideMlp(3, hidden);
    PairList cand = pairs(r, PAIRS);
    PairList lab = pairs(r, 200);
    double[] labW = new double[lab.size()];
    java.util.Arrays.fill(labW, 1.0);
    for (Strategy s : List.of(Strategy.OLS_DOPT, Strategy.DOPT, Strategy.PAST_AWARE_DOPT)) {
      StrategyInput in = new StrategyInput(Ref.pool(x, ROWS, 2), m, cand, lab, labW, 1.0, s,
          StrategyParams.DEFAULTS.resolve(), 0, 10, CancelledException.NEVER, null);
      double[] scores = DesignStrategy.scores(in);
      assertThat(scores).as("%s", s).hasSize(PAIRS);
      for (double q : scores) {
        assertThat(q).as("%s score", s).isFinite().isGreaterThanOrEqualTo(0);
      }
    }
  }

  @Test
  void aRidgeFarBelowTheRoundingIsFailedPreconditionNamingParamsRidge() {
    Random r = new Random(12);
    float[] x = toyPool(r);
    PairList cand = pairs(r, PAIRS);
    StrategyInput in = new StrategyInput(Ref.pool(x, ROWS, 2), wideMlp(3), cand, new PairList(new int[0], new int[0]),
        new double[0], 1.0, Strategy.DOPT, new StrategyParams(Double.MIN_NORMAL, 0, 0, 0, 0, 0).resolve(), 0, 10,
        CancelledException.NEVER, null);
    assertThatThrownBy(() -> SelectionStrategy.run(in))
        .isInstanceOfSatisfying(ActiveRmException.class,
            e -> assertThat(e.kind()).isEqualTo(ActiveRmException.Kind.FAILED_PRECONDITION))
        .hasMessageContaining("not positive definite")
        .hasMessageContaining("set params.ridge to at least");
  }

  @Test
  void laplacianGramMatchesExplicitOuterProductsOnLowRankFeatures() {
    Random r = new Random(5);
    float[] x = toyPool(r);
    MlpRewardModel m = wideMlp(9);
    int h = m.featureDim();
    float[] phi = Features.of(Ref.pool(x, ROWS, 2), m, identity(ROWS), CancelledException.NEVER);
    PairList p = pairs(r, PAIRS);
    double[] w = new double[PAIRS];
    for (int k = 0; k < PAIRS; k++) {
      w[k] = 0.05 + 0.2 * r.nextDouble();
    }
    double[] f = new double[h * h];
    LaplacianGram.accumulate(phi, ROWS, h, p.a(), p.b(), w, f, CancelledException.NEVER);
    double[][] ref = new double[h][h];
    double[] z = new double[h];
    for (int k = 0; k < PAIRS; k++) {
      for (int j = 0; j < h; j++) {
        z[j] = (double) phi[p.a()[k] * h + j] - phi[p.b()[k] * h + j];
      }
      Ref.addOuter(ref, z, w[k]);
    }
    double max = 0;
    double err = 0;
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < h; j++) {
        max = Math.max(max, Math.abs(ref[i][j]));
        err = Math.max(err, Math.abs(f[i * h + j] - ref[i][j]));
      }
    }
    // Double accumulation of float32 features: the rounding is ~1e-16 relative, far below
    // the default ridge (1e-6 * trace / h); float32 GEMM rounding is ~1e-6 .. 1e-5 relative.
    assertThat(err / max).as("max |F - F_ref| / max |F_ref|").isLessThan(1e-12);
    double tr = 0;
    for (int i = 0; i < h; i++) {
      tr += f[i * h + i];
    }
    for (int i = 0; i < h; i++) {
      f[i * h + i] += 1e-6 * tr / h;
    }
    assertThat(dev.activerm.server.core.linalg.DenseMatrices.choleskyLower(f, h))
        .as("F + default ridge is positive definite").isNotNull();
  }

  private static int[] identity(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    return a;
  }
}
