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

  /**
   * The anchored step (the prior's gradient added tile by tile inside the update pass) against
   * the two passes it replaced, written out here per element: first g += c (W - W^(0)) on
   * every hidden weight matrix in float, then AdamW in float (the same float operations), over
   * two steps with a pool of 3 on a 300 x 70 first layer (21 000 weights: 3 prior parts, tiles
   * that do not line up with them) and a 70 x 40 second one (one part). The weights must be
   * bit-identical, and each returned prior value exactly the squared distance summed as the
   * separate pass summed it (in element order within each of min(pool, n / 4096) parts, the
   * parts in order, the layers in order) times c / 2; and within 2.5e-7 relative of the sum
   * of the exact differences squared in one double loop (the pass rounds W - W^(0) to float). A wrong offset into the anchor, a tile applied twice or a skipped
   * part changes bits.
   */
  @Test
  void anchoredStepIsBitIdenticalToThePriorPassThenAdamW() {
    int threads = Parallel.threads();
    Parallel.setThreads(3);
    try {
      int[] hidden = {70, 40};
      MlpNetwork net = MlpNetwork.init(300, hidden, 5);
      MlpNetwork anchorNet = MlpNetwork.init(300, hidden, 8);
      double penalty = 0.37;
      double lr = 1e-2;
      double wd = 0.5;
      MlpAnchorPrior prior = new MlpAnchorPrior(anchorNet, penalty);
      SplittableRandom random = new SplittableRandom(7);
      int layers = hidden.length;
      float[][] w = new float[layers][];
      float[][] mw = new float[layers][];
      float[][] vw = new float[layers][];
      for (int l = 0; l < layers; l++) {
        w[l] = net.weights[l].clone();
        mw[l] = new float[w[l].length];
        vw[l] = new float[w[l].length];
      }
      try (MlpBatch batch = new MlpBatch(net, 4)) {
        MlpAdam adam = new MlpAdam(batch);
        for (int t = 1; t <= 2; t++) {
          float[][] g = new float[layers][];
          for (int l = 0; l < layers; l++) {
            g[l] = new float[w[l].length];
            for (int i = 0; i < g[l].length; i++) {
              g[l][i] = (float) random.nextDouble(-1.0, 1.0);
            }
            batch.weightGradient(l).put(0, g[l], 0, g[l].length);
          }
          // The reference: the prior pass as it was (value summed per part), then AdamW.
          double want = 0;
          double oneLoop = 0;
          float c = (float) penalty;
          for (int l = 0; l < layers; l++) {
            int n = w[l].length;
            int parts = Math.min(3, Math.max(1, n / 4096));
            double total = 0;
            for (int part = 0; part < parts; part++) {
              double s = 0;
              for (int i = (int) ((long) n * part / parts); i < (int) ((long) n * (part + 1) / parts); i++) {
                float d = w[l][i] - anchorNet.weights[l][i];
                g[l][i] += c * d;
                s += (double) d * d;
                oneLoop += ((double) w[l][i] - anchorNet.weights[l][i]) * ((double) w[l][i] - anchorNet.weights[l][i]);
              }
              total += s;
            }
            want += total;
          }
          want = 0.5 * penalty * want;
          float keep = (float) (1.0 - lr * wd);
          float step = (float) (lr / (1 - Math.pow(0.9, t)));
          float invBc2Sqrt = (float) (1.0 / Math.sqrt(1 - Math.pow(0.999, t)));
          float b1 = (float) 0.9;
          float b2 = (float) 0.999;
          for (int l = 0; l < layers; l++) {
            for (int i = 0; i < w[l].length; i++) {
              float gi = g[l][i];
              mw[l][i] = b1 * mw[l][i] + (1 - b1) * gi;
              vw[l][i] = b2 * vw[l][i] + (1 - b2) * gi * gi;
              float denom = (float) Math.sqrt(vw[l][i]) * invBc2Sqrt + (float) 1e-8;
              w[l][i] = w[l][i] * keep - step * mw[l][i] / denom;
            }
          }
          double got = adam.step(batch, lr, wd, prior);
          assertThat(got).as("step %d's prior value", t).isEqualTo(want);
          // d = W - W^(0) is rounded to float (relative 2^-24), so d^2 to within 2^-23 relative.
          assertThat(Math.abs(got - 0.5 * penalty * oneLoop)).isLessThanOrEqualTo(2.5e-7 * got);
          for (int l = 0; l < layers; l++) {
            float[] trained = MlpTrainerTest.toArray(batch.weights(l), w[l].length);
            for (int i = 0; i < w[l].length; i++) {
              assertThat(Float.floatToRawIntBits(trained[i]))
                  .as("step %d layer %d element %d: %s, reference %s", t, l, i, trained[i], w[l][i])
                  .isEqualTo(Float.floatToRawIntBits(w[l][i]));
            }
          }
        }
        assertThat(prior.parts(0)).isEqualTo(3);
        assertThat(prior.parts(1)).isEqualTo(1);
      }
    } finally {
      Parallel.setThreads(threads);
    }
  }
}
