package dev.activerm.server.core.linalg;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The float32 pair distances, four pairs at a time, against one pair at a time in the order
 * they were summed before (the scores SelectBatch stores rest on these bits): equal bit for
 * bit, for every remainder of the pair count and in both Parallel modes (their partitions
 * differ, so the four-pair groups start at other pairs).
 */
class PairKernelsTest {
  private static double[] onePairAtATime(float[] psi, int h, int[] a, int[] b) {
    double[] q = new double[a.length];
    for (int k = 0; k < a.length; k++) {
      int oa = a[k] * h;
      int ob = b[k] * h;
      double s = 0;
      for (int j = 0; j < h; j++) {
        float diff = psi[oa + j] - psi[ob + j];
        s += diff * diff;
      }
      q[k] = s;
    }
    return q;
  }

  @Test
  void fourPairsAtATimeGiveTheSameBitsAsOne() {
    Random r = new Random(2);
    int rows = 50;
    for (int h : new int[] {1, 3, 16, 257}) {
      float[] psi = new float[rows * h];
      for (int i = 0; i < psi.length; i++) {
        psi[i] = (float) (r.nextGaussian() * Math.exp(4 * r.nextGaussian()));
      }
      for (int p : new int[] {0, 1, 2, 3, 4, 5, 6, 7, 9, 1001}) {
        int[] a = new int[p];
        int[] b = new int[p];
        for (int k = 0; k < p; k++) {
          a[k] = r.nextInt(rows);
          b[k] = r.nextInt(rows);
        }
        double[] ref = onePairAtATime(psi, h, a, b);
        assertThat(PairKernels.squaredDistances(psi, h, a, b)).as("h %d, %d pairs", h, p).containsExactly(ref);
        assertThat(Parallel.serially(() -> PairKernels.squaredDistances(psi, h, a, b)))
            .as("serially, h %d, %d pairs", h, p).containsExactly(ref);
      }
    }
  }
}
