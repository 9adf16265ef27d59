package dev.activerm.server.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.server.core.linalg.Parallel;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MlpAdamTest {

  /**
   * Two AdamW steps on tensors larger than several of MlpAdam's 2 048-element tiles and split
   * over a compute pool of 3 (a 300 x 70 first layer: 21 000 weights, parts and tiles that do not
   * line up), with gradients written straight into the batch's native buffers, against Adam's
   * closed form per element in double. Tolerance 1e-6 + 1e-5 |p| (float32 parameters, steps of
   * lr = 1e-2). A tile or part offset that is wrong anywhere moves some element by about lr.
   */
  @Test
  void stepsMatchTheClosedFormAcrossTilesAndParts() {
    int threads = Parallel.threads();
    Parallel.setThreads(3);
    try {
      MlpNetwork net = MlpNetwork.init(300, new int[] {70, 40}, 5);
      double lr = 1e-2;
      double wd = 0.5;
      SplittableRandom random = new SplittableRandom(6);
      try (MlpBatch batch = new MlpBatch(net, 4)) {
        int layers = batch.layers;
        FloatBuffer[] p = new FloatBuffer[2 * layers + 1];
        FloatBuffer[] g = new FloatBuffer[2 * layers + 1];
        for (int l = 0; l < layers; l++) {
          p[2 * l] = batch.weights(l);
          g[2 * l] = batch.weightGradient(l);
          p[2 * l + 1] = FloatBuffer.wrap(batch.bias(l));
          g[2 * l + 1] = FloatBuffer.wrap(batch.gb[l]);
        }
        p[2 * layers] = batch.last();
        g[2 * layers] = batch.lastGradient();
        int[] len = new int[p.length];
        double[][] p0 = new double[p.length][];
        double[][] g1 = new double[p.length][];
        double[][] g2 = new double[p.length][];
        for (int t = 0; t < p.length; t++) {
          len[t] = t == 2 * layers ? net.last.length : t % 2 == 0 ? net.weights[t / 2].length : net.biases[t / 2].length;
          p0[t] = new double[len[t]];
          g1[t] = new double[len[t]];
          g2[t] = new double[len[t]];
          for (int i = 0; i < len[t]; i++) {
            p0[t][i] = p[t].get(i);
            g1[t][i] = (float) (random.nextDouble(0.1, 1.0) * (random.nextBoolean() ? 1 : -1));
            g2[t][i] = (float) (random.nextDouble(0.1, 1.0) * (random.nextBoolean() ? 1 : -1));
          }
        }
        MlpAdam adam = new MlpAdam(batch);
        for (double[][] grads : new double[][][] {g1, g2}) {
          for (int t = 0; t < p.length; t++) {
            for (int i = 0; i < len[t]; i++) {
              g[t].put(i, (float) grads[t][i]);
            }
          }
          adam.step(batch, lr, wd);
        }
        assertThat(len[0]).isGreaterThan(5 * 2048);
        for (int t = 0; t < p.length; t++) {
          boolean bias = t % 2 == 1 && t != 2 * layers;
          double keep = bias ? 1 : 1 - lr * wd;
          for (int i = 0; i < len[t]; i++) {
            double m1 = 0.1 * g1[t][i];
            double v1 = 0.001 * g1[t][i] * g1[t][i];
            double after1 = p0[t][i] * keep - (lr / 0.1) * m1 / (Math.sqrt(v1 / 0.001) + 1e-8);
            double m2 = 0.9 * m1 + 0.1 * g2[t][i];
            double v2 = 0.999 * v1 + 0.001 * g2[t][i] * g2[t][i];
            double want = after1 * keep - (lr / (1 - 0.81)) * m2 / (Math.sqrt(v2 / (1 - 0.998001)) + 1e-8);
            assertThat(Math.abs(p[t].get(i) - want))
                .as("tensor %d element %d", t, i)
                .isLessThanOrEqualTo(1e-6 + 1e-5 * Math.abs(want));
          }
        }
      }
    } finally {
      Parallel.setThreads(threads);
    }
  }
}
