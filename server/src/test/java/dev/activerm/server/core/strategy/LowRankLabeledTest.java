package dev.activerm.server.core.strategy;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.pairs.PairList;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 13: the Woodbury form of lambda I + F(labeled) (LowRankLabeled) against an independent
 * double-precision reference (explicit M, plain Cholesky, explicit z_k) and against the
 * whitened form it replaces when few pairs are labeled.
 */
class LowRankLabeledTest {
  private static final int ROWS = 500;
  private static final int DIM = 160;
  private static final int LABELED = 40;
  private static final int CANDIDATES = 3000;
  private static final double LAMBDA = 0.5;

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

  private record World(float[] x, LinearRewardModel model, PairList cand, PairList lab, double[] labW) {
    StrategyInput input(Strategy s, int batch) {
      return new StrategyInput(Ref.pool(x, ROWS, DIM), model, cand, lab, labW, LAMBDA, s,
          StrategyParams.DEFAULTS.resolve(), 0, batch, CancelledException.NEVER, null);
    }

    double margin(int a, int b) {
      double s = 0;
      for (int j = 0; j < DIM; j++) {
        s += model.lastLayer()[j] * ((double) x[a * DIM + j] - x[b * DIM + j]);
      }
      return s;
    }

    double variance(int a, int b) {
      return BradleyTerry.clippedVariance(new double[] {margin(a, b)})[0];
    }

    double[] z(int a, int b) {
      return Ref.z(model, x, DIM, a, b);
    }

    /** lambda I + sum_j w_j v_j z_j z_j^T in double, explicitly. */
    double[] labeledMatrix() {
      double[] m = new double[DIM * DIM];
      for (int i = 0; i < DIM; i++) {
        m[i * DIM + i] = LAMBDA;
      }
      for (int k = 0; k < lab.size(); k++) {
        addOuter(m, z(lab.a()[k], lab.b()[k]), labW[k] * variance(lab.a()[k], lab.b()[k]));
      }
      return m;
    }
  }

  private static World world(long seed) {
    Random r = new Random(seed);
    float[] x = Ref.gaussian(r, ROWS * DIM, 1.0);
    double[] w = new double[DIM];
    for (int j = 0; j < DIM; j++) {
      w[j] = r.nextGaussian() * 2 / Math.sqrt(DIM);
    }
    PairList lab = pairs(r, LABELED);
    double[] labW = new double[LABELED];
    for (int k = 0; k < LABELED; k++) {
      labW[k] = 0.5 + r.nextDouble();
    }
    return new World(x, new LinearRewardModel(1, w), pairs(r, CANDIDATES), lab, labW);
  }

  private static void addOuter(double[] m, double[] z, double c) {
    for (int i = 0; i < DIM; i++) {
      for (int j = 0; j < DIM; j++) {
        m[i * DIM + j] += c * z[i] * z[j];
      }
    }
  }

  /** z^T M^-1 z by a plain Cholesky solve. */
  private static double quadForm(double[] m, double[] z) {
    int h = DIM;
    double[] l = new double[h * h];
    for (int i = 0; i < h; i++) {
      for (int j = 0; j <= i; j++) {
        double s = m[i * h + j];
        for (int k = 0; k < j; k++) {
          s -= l[i * h + k] * l[j * h + k];
        }
        l[i * h + j] = i == j ? Math.sqrt(s) : s / l[j * h + j];
      }
    }
    double q = 0;
    double[] y = new double[h];
    for (int i = 0; i < h; i++) {
      double s = z[i];
      for (int k = 0; k < i; k++) {
        s -= l[i * h + k] * y[k];
      }
      y[i] = s / l[i * h + i];
      q += y[i] * y[i];
    }
    return q;
  }

  @Test
  void theSelectorUsesWoodburyOnlyForFewLabeledPairsOnWideFeatures() {
    assertThat(LowRankLabeled.applies(LABELED, DIM)).isTrue();
    assertThat(LowRankLabeled.applies(1000, 4096)).isTrue();
    assertThat(LowRankLabeled.applies(1000, 2048)).isTrue();
    assertThat(LowRankLabeled.applies(1025, 2048)).isFalse();
    assertThat(LowRankLabeled.applies(256, 1024)).isTrue();
    assertThat(LowRankLabeled.applies(257, 1024)).isFalse();
    assertThat(LowRankLabeled.applies(0, 16)).isFalse();
    // The golden fixture: D = 16, 120 comparisons and more pending: the whitened form.
    assertThat(LowRankLabeled.applies(120, 16)).isFalse();
    World w = world(1);
    assertThat(LowRankLabeled.applies(w.input(Strategy.GREEDY_DOPT, 8))).isTrue();
    assertThat(LowRankLabeled.applies(w.input(Strategy.BALD, 8))).isTrue();
    assertThat(LowRankLabeled.applies(w.input(Strategy.PAST_AWARE_DOPT, 8))).isFalse();
    assertThat(LowRankLabeled.applies(w.input(Strategy.BATCHBALD, 8))).isFalse();
  }

  @Test
  void woodburyQuadraticFormsMatchTheDoubleReference() {
    World w = world(2);
    double[] m = w.labeledMatrix();
    LowRankCandidates lr = LowRankCandidates.of(w.input(Strategy.BALD, 8));
    Whitened wh = Whitened.of(w.input(Strategy.BALD, 8));
    double worstLowRank = 0;
    double worstWhitened = 0;
    for (int k = 0; k < CANDIDATES; k++) {
      double ref = quadForm(m, w.z(w.cand().a()[k], w.cand().b()[k]));
      worstLowRank = Math.max(worstLowRank, Math.abs(lr.quad()[k] - ref) / ref);
      worstWhitened = Math.max(worstWhitened, Math.abs(wh.quad()[k] - ref) / ref);
    }
    // Woodbury runs in float64 on float32 features (centred in float32, about 1e-7 relative);
    // the whitened form solves in float32.
    assertThat(worstLowRank).isLessThan(1e-5);
    assertThat(worstWhitened).isLessThan(1e-3);
  }

  @Test
  void woodburyIsExactForCandidatesInTheLabeledSpan() {
    // Candidates that are labeled pairs themselves: ||Q z||^2 nearly cancels ||z||^2.
    World w = world(3);
    World same = new World(w.x(), w.model(), w.lab(), w.lab(), w.labW());
    double[] m = same.labeledMatrix();
    LowRankCandidates lr = LowRankCandidates.of(same.input(Strategy.BALD, 8));
    for (int k = 0; k < LABELED; k++) {
      double ref = quadForm(m, w.z(w.lab().a()[k], w.lab().b()[k]));
      assertThat(lr.quad()[k]).isCloseTo(ref, org.assertj.core.data.Percentage.withPercentage(1e-3));
    }
  }

  @Test
  void greedyDoptPicksTheSameBatchInBothFormsAndAsTheReference() {
    World w = world(4);
    int b = 12;
    StrategyResult auto = SelectionStrategy.run(w.input(Strategy.GREEDY_DOPT, b));
    StrategyResult low = GreedyDoptStrategy.select(w.input(Strategy.GREEDY_DOPT, b), b, true);
    StrategyResult dense = GreedyDoptStrategy.select(w.input(Strategy.GREEDY_DOPT, b), b, false);
    assertThat(auto.index()).containsExactly(low.index());
    assertThat(low.index()).containsExactly(dense.index());
    // Reference: argmax v z^T M^-1 z with M rebuilt and refactored after every pick.
    double[] m = w.labeledMatrix();
    boolean[] taken = new boolean[CANDIDATES];
    for (int step = 0; step < b; step++) {
      int best = -1;
      double bestGain = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < CANDIDATES; k++) {
        if (taken[k]) {
          continue;
        }
        int a = w.cand().a()[k];
        int c = w.cand().b()[k];
        double g = w.variance(a, c) * quadForm(m, w.z(a, c));
        if (g > bestGain) {
          bestGain = g;
          best = k;
        }
      }
      assertThat(low.index()[step]).as("pick %d", step).isEqualTo(best);
      assertThat(low.score()[step]).isCloseTo(bestGain, org.assertj.core.data.Percentage.withPercentage(1e-3));
      assertThat(dense.score()[step]).isCloseTo(bestGain, org.assertj.core.data.Percentage.withPercentage(1e-1));
      taken[best] = true;
      addOuter(m, w.z(w.cand().a()[best], w.cand().b()[best]), w.variance(w.cand().a()[best], w.cand().b()[best]));
    }
  }

  @Test
  void baldPicksTheSameBatchInBothForms() {
    World w = world(5);
    int b = 20;
    StrategyResult low = BaldStrategy.select(w.input(Strategy.BALD, b), b, true);
    StrategyResult dense = BaldStrategy.select(w.input(Strategy.BALD, b), b, false);
    assertThat(low.index()).containsExactly(dense.index());
    for (int i = 0; i < b; i++) {
      assertThat(low.score()[i]).isCloseTo(dense.score()[i], org.assertj.core.data.Percentage.withPercentage(1e-2));
    }
    assertThat(SelectionStrategy.run(w.input(Strategy.BALD, b)).index()).containsExactly(low.index());
  }

  @Test
  void noLabeledPairsMeansThePrior() {
    World w0 = world(6);
    World w = new World(w0.x(), w0.model(), w0.cand(), new PairList(new int[0], new int[0]), new double[0]);
    LowRankCandidates lr = LowRankCandidates.of(w.input(Strategy.BALD, 8));
    for (int k = 0; k < 50; k++) {
      double[] z = w.z(w.cand().a()[k], w.cand().b()[k]);
      double ref = Arrays.stream(z).map(v -> v * v).sum() / LAMBDA;
      assertThat(lr.quad()[k]).isCloseTo(ref, org.assertj.core.data.Percentage.withPercentage(1e-4));
    }
  }
}
