package dev.activerm.server.core.linalg;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.server.core.errors.CancelledException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The column-blocked product (upper blocks only, from h = 512 on) against explicit
 * sum_k w_k z_k z_k^T in double. h = 600 is not a multiple of the block width, so the last
 * block is narrower; rows are more than one row block (BLOCK_DOUBLES / h) so the blocks
 * accumulate across GEMMs too. Double accumulation of float32 features: ~1e-16 relative, the
 * tolerance 1e-12 fails on any misplaced or missing block (O(1) errors).
 */
class LaplacianGramTest {
  @Test
  void blockedProductMatchesExplicitOuterProducts() {
    Random r = new Random(8);
    int h = 600;
    int t = LaplacianGram.BLOCK_DOUBLES / h + 37;
    assertThat(LaplacianGram.blockWidth(h)).isLessThan(h);
    float[] phi = new float[t * h];
    for (int i = 0; i < phi.length; i++) {
      phi[i] = (float) r.nextGaussian();
    }
    int p = 3000;
    int[] a = new int[p];
    int[] b = new int[p];
    double[] w = new double[p];
    for (int k = 0; k < p; k++) {
      a[k] = r.nextInt(t);
      do {
        b[k] = r.nextInt(t);
      } while (b[k] == a[k]);
      w[k] = 0.05 + r.nextDouble();
    }
    double[] f = new double[h * h];
    f[3] = 1.5;
    LaplacianGram.accumulate(phi, t, h, a, b, w, f, CancelledException.NEVER);
    double[] ref = new double[h * h];
    ref[3] = 1.5;
    double[] z = new double[h];
    for (int k = 0; k < p; k++) {
      for (int j = 0; j < h; j++) {
        z[j] = (double) phi[a[k] * h + j] - phi[b[k] * h + j];
      }
      for (int i = 0; i < h; i++) {
        double wz = w[k] * z[i];
        for (int j = 0; j < h; j++) {
          ref[i * h + j] += wz * z[j];
        }
      }
    }
    double max = 0;
    double err = 0;
    for (int i = 0; i < h * h; i++) {
      max = Math.max(max, Math.abs(ref[i]));
      err = Math.max(err, Math.abs(f[i] - ref[i]));
    }
    assertThat(err / max).as("max |F - F_ref| / max |F_ref|").isLessThan(1e-12);
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < i; j++) {
        if (i * h + j != 3 && j * h + i != 3) {
          assertThat(f[i * h + j]).as("symmetric (%d, %d)", i, j).isEqualTo(f[j * h + i]);
        }
      }
    }
  }
}
