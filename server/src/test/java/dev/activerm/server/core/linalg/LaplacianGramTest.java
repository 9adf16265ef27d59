package dev.activerm.server.core.linalg;

import dev.activerm.server.core.errors.CancelledException;
import java.util.Random;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * F = Phi^T L Phi against explicit sums of w_k z_k z_k^T in double (an independent reference),
 * on both the full product (h below {@link LaplacianGram#LOWER_FROM_H}) and the lower-triangle
 * panels (from it on), with ragged panels and several row blocks; and which one each width gets.
 */
class LaplacianGramTest {
  private record Data(float[] phi, int t, int h, int[] a, int[] b, double[] w) {}

  /** Low-rank features (smooth functions of 2 latent coordinates), float32, as an MLP on 2-D inputs gives. */
  private static Data lowRank(int t, int h, int pairs, long seed) {
    Random r = new Random(seed);
    double[] ca = new double[h];
    double[] cb = new double[h];
    double[] cc = new double[h];
    for (int j = 0; j < h; j++) {
      ca[j] = r.nextGaussian();
      cb[j] = r.nextGaussian();
      cc[j] = r.nextGaussian();
    }
    float[] phi = new float[t * h];
    for (int i = 0; i < t; i++) {
      double u = 2 * r.nextDouble() - 1;
      double v = 2 * r.nextDouble() - 1;
      for (int j = 0; j < h; j++) {
        phi[i * h + j] = (float) Math.tanh(ca[j] * u + cb[j] * v + cc[j]);
      }
    }
    int[] a = new int[pairs];
    int[] b = new int[pairs];
    double[] w = new double[pairs];
    for (int k = 0; k < pairs; k++) {
      a[k] = r.nextInt(t);
      b[k] = (a[k] + 1 + r.nextInt(t - 1)) % t;
      w[k] = 0.05 + 0.2 * r.nextDouble();
    }
    return new Data(phi, t, h, a, b, w);
  }

  private static double[] reference(Data d) {
    int h = d.h();
    double[] f = new double[h * h];
    double[] z = new double[h];
    for (int k = 0; k < d.a().length; k++) {
      for (int j = 0; j < h; j++) {
        z[j] = (double) d.phi()[d.a()[k] * h + j] - d.phi()[d.b()[k] * h + j];
      }
      for (int i = 0; i < h; i++) {
        double wz = d.w()[k] * z[i];
        for (int j = 0; j < h; j++) {
          f[i * h + j] += wz * z[j];
        }
      }
    }
    return f;
  }

  private static double[] gram(Data d, int blockDoubles, int panel) {
    double[] f = new double[d.h() * d.h()];
    LaplacianGram.accumulate(d.phi(), d.t(), d.h(), d.a(), d.b(), d.w(), f, CancelledException.NEVER,
        blockDoubles, panel);
    return f;
  }

  private static double[] gram(Data d) {
    double[] f = new double[d.h() * d.h()];
    LaplacianGram.accumulate(d.phi(), d.t(), d.h(), d.a(), d.b(), d.w(), f, CancelledException.NEVER);
    return f;
  }

  private static double relativeError(double[] f, double[] ref) {
    double max = 0;
    double err = 0;
    for (int i = 0; i < f.length; i++) {
      max = Math.max(max, Math.abs(ref[i]));
      err = Math.max(err, Math.abs(f[i] - ref[i]));
    }
    return err / max;
  }

  private static void assertSymmetric(double[] f, int h) {
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < i; j++) {
        assertThat(f[i * h + j]).as("F[%d][%d] vs F[%d][%d]", i, j, j, i).isEqualTo(f[j * h + i]);
      }
    }
  }

  @Test
  void lowerPanelsMatchExplicitOuterProductsWithRaggedPanelsAndSeveralBlocks() {
    Data d = lowRank(90, 37, 700, 1);
    double[] ref = reference(d);
    // Panels of 8 rows (the last one 5), blocks of 10 rows (the last one of 0 .. 9 rows).
    for (int panel : new int[] {8, 36, 37, 64}) {
      double[] f = gram(d, 37 * 10, panel);
      // Double accumulation of float32 inputs: ~1e-16 relative rounding; 1e-12 leaves room for T terms.
      assertThat(relativeError(f, ref)).as("panel %d", panel).isLessThan(1e-12);
      assertSymmetric(f, d.h());
    }
    assertThat(relativeError(gram(d, 37 * 10, 0), ref)).as("full product").isLessThan(1e-12);
  }

  @Test
  void lowerPanelsAreExactToDoubleRoundingAndPositiveDefiniteWithTheDefaultRidge() {
    int h = 700;
    Data d = lowRank(300, h, 1500, 2);
    // The production panel height (a 512-row panel and a ragged 188-row one), one row block.
    double[] f = gram(d, LaplacianGram.BLOCK_DOUBLES, LaplacianGram.PANEL);
    assertThat(relativeError(f, reference(d))).isLessThan(1e-12);
    assertSymmetric(f, h);
    // The issue-12 property: rank-deficient features, eps I + F with eps = 1e-6 * trace / h factors.
    DenseMatrices.addDiagonal(f, h, 1e-6 * DenseMatrices.trace(f, h) / h);
    assertThat(DenseMatrices.choleskyLower(f, h)).as("F + default ridge factors").isNotNull();
  }

  @Test
  void theFullProductBelowTheThresholdAndLowerPanelsFromIt() {
    Data below = lowRank(60, LaplacianGram.LOWER_FROM_H - 1, 300, 3);
    assertThat(gram(below)).as("h = %d: full product, bit for bit", below.h())
        .isEqualTo(gram(below, LaplacianGram.BLOCK_DOUBLES, 0));
    Data from = lowRank(60, LaplacianGram.LOWER_FROM_H, 300, 4);
    double[] panels = gram(from, LaplacianGram.BLOCK_DOUBLES, LaplacianGram.PANEL);
    double[] full = gram(from, LaplacianGram.BLOCK_DOUBLES, 0);
    assertThat(panels).as("the two paths differ in their last bits here").isNotEqualTo(full);
    assertThat(gram(from)).as("h = %d: lower panels, bit for bit", from.h()).isEqualTo(panels);
  }

  @Test
  void theRowWiseNativeFillIsBitIdenticalToTheHeapBlocksItReplaced() {
    // Several blocks with a ragged last one, both products, and the scratch reused dirty: the
    // second call of each pair gets the blocks the first left full of other rows.
    Data big = lowRank(400, 64, 3000, 5);
    Data small = lowRank(90, 37, 700, 6);
    for (Data d : new Data[] {big, small, big}) {
      for (int blockDoubles : new int[] {d.h() * 7, d.h() * 64, LaplacianGram.BLOCK_DOUBLES}) {
        for (int panel : new int[] {0, 16}) {
          double[] before = new double[d.h() * d.h()];
          LaplacianGramHeapBlocks.accumulate(d.phi(), d.t(), d.h(), d.a(), d.b(), d.w(), before,
              CancelledException.NEVER, blockDoubles, panel);
          assertThat(gram(d, blockDoubles, panel)).as("h %d, block %d, panel %d", d.h(), blockDoubles, panel)
              .isEqualTo(before);
        }
      }
    }
  }

  @Test
  void scratchKeptBetweenCallsIsBounded() {
    Data d = lowRank(90, 37, 700, 7);
    gram(d);
    assertThat(NativeScratch.retainedBytes()).isPositive().isLessThanOrEqualTo(NativeScratch.RETAINED_BYTES);
    // A block larger than the bound is freed, not kept.
    var huge = NativeScratch.take(NativeScratch.RETAINED_BYTES / 8 + 1);
    long before = NativeScratch.retainedBytes();
    NativeScratch.release(huge);
    assertThat(NativeScratch.retainedBytes()).isEqualTo(before);
    // Many small blocks at once: the pool keeps no more than the bound.
    var blocks = new org.bytedeco.javacpp.DoublePointer[64];
    for (int i = 0; i < blocks.length; i++) {
      blocks[i] = NativeScratch.take(NativeScratch.RETAINED_BYTES / 8 / 16);
    }
    for (var b : blocks) {
      NativeScratch.release(b);
    }
    assertThat(NativeScratch.retainedBytes()).isLessThanOrEqualTo(NativeScratch.RETAINED_BYTES);
    // A block given back with its position moved is kept at position 0.
    var moved = NativeScratch.take(NativeScratch.RETAINED_BYTES / 8);
    moved.position(100);
    NativeScratch.release(moved);
    assertThat(moved.position()).isZero();
  }
}
