package dev.activerm.server.core.linalg;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * LAPACK dpotrf against two independent references: a textbook Cholesky–Banachiewicz loop in
 * double, and ojAlgo's Cholesky (what the server used before). On matrices with condition
 * number ~ 1e3 the factors agree to ~ 1e-15 relative; the tolerance 1e-12 leaves room for the
 * different summation orders (blocked, multi-threaded) and still fails on any index or
 * triangle mix-up, which shows up as O(1) differences.
 */
class LapackTest {
  /** A = G G^T / h + I: symmetric, eigenvalues in [1, ~5], dense. */
  private static double[] spd(Random r, int h) {
    double[] g = new double[h * h];
    for (int i = 0; i < g.length; i++) {
      g[i] = r.nextGaussian();
    }
    double[] a = new double[h * h];
    for (int i = 0; i < h; i++) {
      for (int j = 0; j <= i; j++) {
        double s = 0;
        for (int k = 0; k < h; k++) {
          s += g[i * h + k] * g[j * h + k];
        }
        a[i * h + j] = s / h + (i == j ? 1 : 0);
        a[j * h + i] = a[i * h + j];
      }
    }
    return a;
  }

  private static double[] textbook(double[] a, int h) {
    double[] l = new double[h * h];
    for (int i = 0; i < h; i++) {
      for (int j = 0; j <= i; j++) {
        double s = a[i * h + j];
        for (int k = 0; k < j; k++) {
          s -= l[i * h + k] * l[j * h + k];
        }
        l[i * h + j] = i == j ? Math.sqrt(s) : s / l[j * h + j];
      }
    }
    return l;
  }

  /** ojAlgo's factor, what the server used for every h before (and still uses below LAPACK_FROM_H). */
  private static double[] ojAlgo(double[] a, int h) {
    double[] l = DenseMatrices.ojAlgoCholeskyLower(a, h);
    assertThat(l).as("ojAlgo factors an SPD matrix").isNotNull();
    return l;
  }

  private static double relMaxDiff(double[] x, double[] ref) {
    double max = 0;
    double err = 0;
    for (int i = 0; i < ref.length; i++) {
      max = Math.max(max, Math.abs(ref[i]));
      err = Math.max(err, Math.abs(x[i] - ref[i]));
    }
    return err / max;
  }

  @Test
  void factorMatchesTextbookAndOjAlgoAndLeavesInputAlone() {
    Random r = new Random(3);
    // 1 and 2 are the edge sizes; 300 and 400 cross dpotrf's blocked, threaded path.
    for (int h : new int[] {1, 2, 17, 300, 400}) {
      double[] a = spd(r, h);
      double[] before = a.clone();
      double[] l = Lapack.choleskyLower(a, h);
      assertThat(a).as("h = %d: input unchanged", h).containsExactly(before);
      assertThat(l).as("h = %d", h).isNotNull().hasSize(h * h);
      for (int i = 0; i < h; i++) {
        for (int j = i + 1; j < h; j++) {
          assertThat(l[i * h + j]).as("h = %d: upper entry (%d, %d)", h, i, j).isZero();
        }
      }
      assertThat(relMaxDiff(l, textbook(a, h))).as("h = %d: vs textbook", h).isLessThan(1e-12);
      assertThat(relMaxDiff(l, ojAlgo(a, h))).as("h = %d: vs ojAlgo", h).isLessThan(1e-12);
    }
  }

  @Test
  void onlyTheLowerTriangleIsRead() {
    Random r = new Random(4);
    int h = 40;
    double[] a = spd(r, h);
    double[] garbled = a.clone();
    for (int i = 0; i < h; i++) {
      for (int j = i + 1; j < h; j++) {
        garbled[i * h + j] = 1e6 * r.nextGaussian();
      }
    }
    assertThat(Lapack.choleskyLower(garbled, h)).containsExactly(Lapack.choleskyLower(a, h));
  }

  @Test
  void notPositiveDefiniteIsNull() {
    Random r = new Random(5);
    int h = 200;
    // Indefinite: an SPD matrix shifted by slightly more than its smallest eigenvalue (>= 1)
    // in one direction: A - 6 e e^T with e a unit vector has a negative eigenvalue.
    double[] a = spd(r, h);
    double[] e = new double[h];
    double n = 0;
    for (int i = 0; i < h; i++) {
      e[i] = r.nextGaussian();
      n += e[i] * e[i];
    }
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < h; j++) {
        a[i * h + j] -= 6 * (a[i * h + i] + 6) * e[i] * e[j] / n;
      }
    }
    assertThat(Lapack.choleskyLower(a, h)).as("indefinite").isNull();
    // Singular: a zero row and column.
    double[] s = spd(r, 5);
    for (int k = 0; k < 5; k++) {
      s[2 * 5 + k] = 0;
      s[k * 5 + 2] = 0;
    }
    assertThat(Lapack.choleskyLower(s, 5)).as("singular").isNull();
    assertThat(Lapack.choleskyLower(new double[] {-1e-300}, 1)).as("1 x 1 negative").isNull();
    assertThat(Lapack.choleskyLower(new double[] {Double.NaN}, 1)).as("NaN").isNull();
    double[] nan = spd(r, 6);
    nan[5 * 6 + 1] = Double.NaN;
    nan[1 * 6 + 5] = Double.NaN;
    assertThat(Lapack.choleskyLower(nan, 6)).as("NaN off the diagonal").isNull();
  }

  /**
   * DenseMatrices keeps ojAlgo below LAPACK_FROM_H (so small factors are bit-for-bit what they
   * were) and hands wider ones to LAPACK; both sides refuse a NaN or indefinite matrix.
   */
  @Test
  void denseMatricesUsesOjAlgoBelowTheThresholdAndLapackFromIt() {
    Random r = new Random(11);
    for (int h : new int[] {16, DenseMatrices.LAPACK_FROM_H - 1, DenseMatrices.LAPACK_FROM_H}) {
      double[] a = spd(r, h);
      double[] expected = h < DenseMatrices.LAPACK_FROM_H ? ojAlgo(a, h) : Lapack.choleskyLower(a, h);
      assertThat(DenseMatrices.choleskyLower(a, h)).as("h = %d", h).containsExactly(expected);
      assertThat(relMaxDiff(DenseMatrices.choleskyLower(a, h), textbook(a, h))).as("h = %d", h).isLessThan(1e-12);
      double[] nan = a.clone();
      nan[3 * h + 3] = Double.NaN;
      assertThat(DenseMatrices.choleskyLower(nan, h)).as("h = %d, NaN pivot", h).isNull();
      double[] indefinite = a.clone();
      indefinite[(h - 1) * h + (h - 1)] = -1;
      assertThat(DenseMatrices.choleskyLower(indefinite, h)).as("h = %d, negative pivot", h).isNull();
    }
  }

  @Test
  void rowByRowFactorMatchesTextbookAndOjAlgoAndRefusesWhatIsNotPositiveDefinite() {
    Random r = new Random(8);
    for (int h : new int[] {1, 2, 3, 5, 17, 256}) {
      double[] a = spd(r, h);
      double[] before = a.clone();
      double[] l = DenseMatrices.choleskyLowerRows(a, h);
      assertThat(a).containsExactly(before);
      assertThat(l).as("h = %d", h).isNotNull().hasSize(h * h);
      for (int i = 0; i < h; i++) {
        for (int j = i + 1; j < h; j++) {
          assertThat(l[i * h + j]).isZero();
        }
      }
      assertThat(relMaxDiff(l, textbook(a, h))).as("h = %d vs textbook", h).isLessThan(1e-12);
      assertThat(relMaxDiff(l, ojAlgo(a, h))).as("h = %d vs ojAlgo", h).isLessThan(1e-12);
    }
    double[] indefinite = {1, 2, 2, 1};
    assertThat(DenseMatrices.choleskyLowerRows(indefinite, 2)).isNull();
    double[] nan = {1, Double.NaN, Double.NaN, 1};
    assertThat(DenseMatrices.choleskyLowerRows(nan, 2)).isNull();
    assertThat(DenseMatrices.choleskyLowerRows(new double[] {0}, 1)).isNull();
  }
}
