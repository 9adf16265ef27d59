package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.RowKernels;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

class MlpTrainerTest {

  /**
   * Backprop (float32, OpenBLAS) against central finite differences of an independent
   * double-precision forward pass written with loops and GELU as 0.5 x (1 + tanh(.)).
   * Tolerance: |analytic - fd| <= 2e-4 + 2e-3 |fd| (float32 gradients, h = 1e-5 in double).
   */
  @Test
  void gradientsMatchCentralFiniteDifferences() {
    int dim = 5;
    int[] hidden = {4, 3};
    Planted p = new Planted(7, dim, 21, x -> x[0] - x[2]);
    ComparisonSet data = p.comparisons(9, 22, 0.2, true);
    MlpNetwork net = MlpNetwork.init(dim, hidden, 23);
    double penalty = 0.3;
    int n = data.size();
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
    }
    MlpTrainer.Workspace ws = new MlpTrainer.Workspace(net, n);
    double value = MlpTrainer.batchGradient(net, data, idx, 0, n, penalty, ws);

    double[][] params = flatten(net);
    assertThat(value).isCloseTo(referenceObjective(params, net.sizes, data, penalty), org.assertj.core.api.Assertions.within(1e-5));
    float[][] grads = new float[2 * hidden.length + 1][];
    for (int l = 0; l < hidden.length; l++) {
      grads[2 * l] = ws.gW[l];
      grads[2 * l + 1] = ws.gb[l];
    }
    grads[2 * hidden.length] = ws.gLast;
    double h = 1e-5;
    int checked = 0;
    for (int t = 0; t < params.length; t++) {
      for (int i = 0; i < params[t].length; i++) {
        double keep = params[t][i];
        params[t][i] = keep + h;
        double up = referenceObjective(params, net.sizes, data, penalty);
        params[t][i] = keep - h;
        double down = referenceObjective(params, net.sizes, data, penalty);
        params[t][i] = keep;
        double fd = (up - down) / (2 * h);
        assertThat(Math.abs(grads[t][i] - fd))
            .as("tensor %d element %d: analytic %s, finite difference %s", t, i, grads[t][i], fd)
            .isLessThanOrEqualTo(2e-4 + 2e-3 * Math.abs(fd));
        checked++;
      }
    }
    assertThat(checked).isEqualTo((int) net.parameterCount());
  }

  @Test
  void sameSeedGivesABitIdenticalModelAndAnotherSeedDoesNot() {
    Planted p = new Planted(60, 6, 31, x -> x[0] * x[1]);
    ComparisonSet data = p.comparisons(300, 32, 0.1, true);
    MlpFitOptions o = new MlpFitOptions(3e-3, 3, 32, 1e-3, 0.2, 3);
    MlpNetwork a = MlpTrainer.fit(data, new int[] {16, 8}, 1.0, o, 42, null).network();
    MlpNetwork b = MlpTrainer.fit(data, new int[] {16, 8}, 1.0, o, 42, null).network();
    MlpNetwork c = MlpTrainer.fit(data, new int[] {16, 8}, 1.0, o, 43, null).network();
    assertThat(ModelCodec.encode(new MlpRewardModel(1, a))).isEqualTo(ModelCodec.encode(new MlpRewardModel(1, b)));
    assertThat(Arrays.equals(
        ModelCodec.encode(new MlpRewardModel(1, a)), ModelCodec.encode(new MlpRewardModel(1, c)))).isFalse();
  }

  @Test
  void mlpBeatsLinearOnAPlantedNonlinearReward() {
    int dim = 8;
    Planted p = new Planted(600, dim, 41, x -> 2 * (x[0] * x[0] - 1) + 2 * x[1] * x[2]);
    ComparisonSet train = p.comparisons(3000, 42, 0.0, false);
    ComparisonSet test = p.comparisons(2000, 43, 0.0, false);
    MlpFitOptions o = new MlpFitOptions(3e-3, 40, 64, 0.0, 0.0, 3);
    MlpNetwork mlp = MlpTrainer.fit(train, new int[] {32, 32}, 1.0, o, 7, null).network();
    LinearBtFitter.Result lin = new LinearBtFitter(train, 1.0).fit(LinearFitOptions.defaults(), null);

    double mlpAcc = heldOutAccuracy(test, p.trueReward, mlp.rewards(p.x, p.rows));
    double linAcc = heldOutAccuracy(test, p.trueReward, RowKernels.rowDots(p.x, dim, lin.weights()));
    assertThat(linAcc).isLessThan(0.65);
    assertThat(mlpAcc).isGreaterThan(0.8).isGreaterThan(linAcc + 0.15);
  }

  @Test
  void earlyStoppingStopsAndReportsHeldOutAccuracy() {
    Planted p = new Planted(100, 4, 51, x -> x[0]);
    ComparisonSet data = p.comparisons(400, 52, 0.0, false);
    MlpFitOptions o = new MlpFitOptions(1e-2, 500, 32, 0.0, 0.25, 2);
    MlpTrainer.Result r = MlpTrainer.fit(data, new int[] {8}, 1.0, o, 1, null);
    assertThat(r.report().iterations()).isLessThan(500);
    assertThat(r.report().validationAccuracy()).isGreaterThan(0.6);
    assertThat(r.report().numComparisons()).isEqualTo(300);
  }

  /** Fraction of test pairs (true reward differs) ordered like the truth. */
  static double heldOutAccuracy(ComparisonSet test, double[] truth, double[] predicted) {
    int right = 0;
    for (int k = 0; k < test.size(); k++) {
      double t = truth[test.a()[k]] - truth[test.b()[k]];
      double q = predicted[test.a()[k]] - predicted[test.b()[k]];
      if (t * q > 0) {
        right++;
      }
    }
    return (double) right / test.size();
  }

  /** Tensors as double: W_1, b_1, ..., W_L, b_L, w. */
  static double[][] flatten(MlpNetwork net) {
    int layers = net.layers();
    double[][] out = new double[2 * layers + 1][];
    for (int l = 0; l < layers; l++) {
      out[2 * l] = toDouble(net.weights[l]);
      out[2 * l + 1] = toDouble(net.biases[l]);
    }
    out[2 * layers] = toDouble(net.last);
    return out;
  }

  static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  /** (1/n) sum_k weight_k BCE(sigma(r_a - r_b), y_k) + penalty/2 ||w||^2, all in double with loops. */
  static double referenceObjective(double[][] p, int[] sizes, ComparisonSet d, double penalty) {
    int layers = sizes.length - 1;
    double total = 0;
    for (int k = 0; k < d.size(); k++) {
      double s = reward(p, sizes, d, d.a()[k]) - reward(p, sizes, d, d.b()[k]);
      double sig = 1 / (1 + Math.exp(-s));
      total += d.weight()[k] * -(d.y()[k] * Math.log(sig) + (1 - d.y()[k]) * Math.log(1 - sig));
    }
    double sq = 0;
    for (double v : p[2 * layers]) {
      sq += v * v;
    }
    return total / d.size() + 0.5 * penalty * sq;
  }

  static double reward(double[][] p, int[] sizes, ComparisonSet d, int row) {
    double[] a = new double[sizes[0]];
    for (int j = 0; j < sizes[0]; j++) {
      a[j] = d.rows()[row * sizes[0] + j];
    }
    int layers = sizes.length - 1;
    for (int l = 0; l < layers; l++) {
      double[] next = new double[sizes[l + 1]];
      for (int o = 0; o < sizes[l + 1]; o++) {
        double z = p[2 * l + 1][o];
        for (int i = 0; i < sizes[l]; i++) {
          z += p[2 * l][o * sizes[l] + i] * a[i];
        }
        next[o] = 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
      }
      a = next;
    }
    double r = 0;
    for (int j = 0; j < a.length; j++) {
      r += p[2 * layers][j] * a[j];
    }
    return r;
  }
}
