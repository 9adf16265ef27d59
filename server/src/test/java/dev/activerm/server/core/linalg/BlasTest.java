package dev.activerm.server.core.linalg;

import java.util.Random;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** OpenBLAS through the wrapper against plain triple loops (tolerance: float32 rounding). */
class BlasTest {
  private final Random random = new Random(7);

  /** The start-up log names the kernels in use; the build pins them with OPENBLAS_CORETYPE. */
  @Test
  void kernelsNameTheRunTimeKernelSet() {
    String forced = System.getenv("OPENBLAS_CORETYPE");
    assertThat(Blas.kernels()).isNotBlank();
    if (forced != null && !forced.isBlank()) {
      assertThat(Blas.kernels()).isEqualToIgnoringCase(forced);
    }
  }

  @Test
  void sgemmTransposedMatchesLoops() {
    int m = 37, n = 29, k = 53;
    float[] a = randomFloats(k * m); // stored k x m, used transposed
    float[] b = randomFloats(k * n);
    float[] c = new float[m * n];
    Blas.sgemm(true, false, m, n, k, 1f, a, m, b, n, 0f, c, n);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double expected = 0;
        for (int t = 0; t < k; t++) {
          expected += (double) a[t * m + i] * b[t * n + j];
        }
        assertThat((double) c[i * n + j]).isCloseTo(expected, within(1e-4));
      }
    }
  }

  @Test
  void dsyrkGivesTheGramMatrix() {
    int n = 11, k = 40;
    double[] a = new double[k * n];
    for (int i = 0; i < a.length; i++) {
      a[i] = random.nextGaussian();
    }
    double[] c = new double[n * n];
    Blas.dsyrkTransposed(n, k, 1.0, a, n, 0.0, c, n);
    Blas.symmetrizeUpper(n, c);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double expected = 0;
        for (int t = 0; t < k; t++) {
          expected += a[t * n + i] * a[t * n + j];
        }
        assertThat(c[i * n + j]).isCloseTo(expected, within(1e-10));
      }
    }
  }

  @Test
  void strsmSolvesEachRowAgainstTheLowerFactor() {
    int n = 6, m = 9;
    float[] l = new float[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        l[i * n + j] = i == j ? 2f + random.nextFloat() : (float) random.nextGaussian();
      }
    }
    float[] rows = randomFloats(m * n);
    float[] solved = rows.clone();
    Blas.strsmRowsLowerInverse(m, n, l, solved);
    // L * solved_row must give back the original row.
    for (int r = 0; r < m; r++) {
      for (int i = 0; i < n; i++) {
        double back = 0;
        for (int j = 0; j <= i; j++) {
          back += (double) l[i * n + j] * solved[r * n + j];
        }
        assertThat(back).isCloseTo(rows[r * n + i], within(1e-4));
      }
    }
  }

  private float[] randomFloats(int n) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) random.nextGaussian();
    }
    return out;
  }
}
