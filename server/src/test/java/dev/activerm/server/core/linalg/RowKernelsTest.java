package dev.activerm.server.core.linalg;

import dev.activerm.server.core.linalg.Parallel;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The double-accumulating row kernels against plain double loops (tolerance 1e-12 relative:
 * only the summation order differs), on a matrix big enough to take the parallel path, and
 * bit-identical between one and two threads.
 */
class RowKernelsTest {
  private static final int ROWS = 1031;
  private static final int DIM = 515; // rows * dim > the parallel threshold; dim not a multiple of 4

  private final Random random = new Random(3);
  private final float[] x = new float[ROWS * DIM];

  RowKernelsTest() {
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextGaussian();
    }
  }

  @AfterEach
  void restoreThreads() {
    Parallel.setThreads(Runtime.getRuntime().availableProcessors());
  }

  @Test
  void timesVectorMatchesPlainLoops() {
    double[] v = gaussians(DIM);
    double[] out = new double[ROWS];
    Parallel.setThreads(2);
    RowKernels.timesVector(x, ROWS, DIM, v, out);
    for (int i = 0; i < ROWS; i++) {
      double expected = 0;
      double scale = 0;
      for (int j = 0; j < DIM; j++) {
        expected += (double) x[i * DIM + j] * v[j];
        scale += Math.abs((double) x[i * DIM + j] * v[j]);
      }
      assertThat(Math.abs(out[i] - expected)).isLessThanOrEqualTo(1e-12 * scale);
    }
  }

  @Test
  void transposeTimesVectorMatchesPlainLoops() {
    double[] c = gaussians(ROWS);
    c[5] = 0; // skipped rows must not matter
    double[] out = new double[DIM];
    java.util.Arrays.fill(out, 99.0); // overwritten, not accumulated into
    Parallel.setThreads(2);
    RowKernels.transposeTimesVector(x, ROWS, DIM, c, out);
    for (int j = 0; j < DIM; j++) {
      double expected = 0;
      double scale = 0;
      for (int i = 0; i < ROWS; i++) {
        expected += c[i] * x[i * DIM + j];
        scale += Math.abs(c[i] * x[i * DIM + j]);
      }
      assertThat(Math.abs(out[j] - expected)).isLessThanOrEqualTo(1e-12 * scale);
    }
  }

  @Test
  void fusedTransposeProductsMatchPlainLoops() {
    double[] c = gaussians(ROWS);
    double[] c2 = gaussians(ROWS);
    double[] out = new double[DIM];
    double[] out2 = new double[DIM];
    Parallel.setThreads(2);
    RowKernels.transposeTimesVectors(x, ROWS, DIM, c, out, c2, out2);
    for (int j = 0; j < DIM; j++) {
      double e1 = 0;
      double s1 = 0;
      double e2 = 0;
      double s2 = 0;
      for (int i = 0; i < ROWS; i++) {
        double xij = x[i * DIM + j];
        e1 += c[i] * xij;
        s1 += Math.abs(c[i] * xij);
        e2 += c2[i] * xij * xij;
        s2 += Math.abs(c2[i] * xij * xij);
      }
      assertThat(Math.abs(out[j] - e1)).isLessThanOrEqualTo(1e-12 * s1);
      assertThat(Math.abs(out2[j] - e2)).isLessThanOrEqualTo(1e-12 * s2);
    }
  }

  @Test
  void resultsAreBitIdenticalForOneAndTwoThreads() {
    double[] v = gaussians(DIM);
    double[] c = gaussians(ROWS);
    Parallel.setThreads(1);
    double[] xv1 = new double[ROWS];
    double[] xtc1 = new double[DIM];
    double[] sq1 = new double[DIM];
    RowKernels.timesVector(x, ROWS, DIM, v, xv1);
    RowKernels.transposeTimesVector(x, ROWS, DIM, c, xtc1);
    RowKernels.transposeTimesVectors(x, ROWS, DIM, c, new double[DIM], c, sq1);
    Parallel.setThreads(2);
    double[] xv2 = new double[ROWS];
    double[] xtc2 = new double[DIM];
    double[] sq2 = new double[DIM];
    RowKernels.timesVector(x, ROWS, DIM, v, xv2);
    RowKernels.transposeTimesVector(x, ROWS, DIM, c, xtc2);
    RowKernels.transposeTimesVectors(x, ROWS, DIM, c, new double[DIM], c, sq2);
    assertThat(xv2).isEqualTo(xv1);
    assertThat(xtc2).isEqualTo(xtc1);
    assertThat(sq2).isEqualTo(sq1);
  }

  private double[] gaussians(int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = random.nextGaussian();
    }
    return v;
  }
}
