package dev.activerm.server.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GeluTest {

  /**
   * The float rational tanh against Math.tanh in double on a dense grid over [-12, 12]
   * (the clamp at |u| = 7.9988 and beyond included). Bound: 4e-7 absolute (Eigen's
   * approximation is 3.9e-7 at worst; a float ulp at 1 is 6e-8).
   */
  @Test
  void rationalTanhIsWithinFourTenthsOfAMicroOfTanh() {
    double worst = 0;
    for (int i = -1_200_000; i <= 1_200_000; i++) {
      float u = i * 1e-5f;
      worst = Math.max(worst, Math.abs(Gelu.tanh(u) - Math.tanh(u)));
    }
    assertThat(worst).isLessThanOrEqualTo(4e-7);
    assertThat(Gelu.tanh(Float.NaN)).isNaN();
    assertThat(Gelu.tanh(1e30f)).isEqualTo(1f);
    assertThat(Gelu.tanh(-1e30f)).isEqualTo(-1f);
  }

  /**
   * GELU(x + b) and its derivative against double references: the value as
   * 0.5 x (1 + tanh(u)) in double, the derivative by central differences of that value
   * (h = 1e-4). Tolerances: value 1e-6 (1 + |x|), derivative 2e-6 (1 + |x|) + 1e-6 (the FD's
   * error is O(h^2 |GELU'''|) ~ 1e-8), over x in [-30, 30] including the clamped tails,
   * where the (1 - tanh^2) term must vanish rather than grow like x^3.
   */
  @Test
  void forwardAndDerivativeMatchDoubleReferences() {
    int n = 60_001;
    float[] p = new float[n];
    float[] bias = new float[n];
    for (int i = 0; i < n; i++) {
      p[i] = -30f + i * 1e-3f;
      bias[i] = (i % 7 - 3) * 0.25f;
    }
    float[] a = new float[n];
    float[] g = new float[n];
    Gelu.forward(p, 0, bias, a, 0, g, 0, n);
    for (int i = 0; i < n; i++) {
      double x = p[i] + bias[i];
      x = (float) x;
      double h = 1e-4;
      double fd = (gelu(x + h) - gelu(x - h)) / (2 * h);
      assertThat(Math.abs(a[i] - gelu(x))).as("GELU(%s)", x).isLessThanOrEqualTo(1e-6 * (1 + Math.abs(x)));
      assertThat(Math.abs(g[i] - fd)).as("GELU'(%s)", x).isLessThanOrEqualTo(2e-6 * (1 + Math.abs(x)) + 1e-6);
    }
  }

  /**
   * The chunked, vectorisable forward pass against the one-element form (tanh, then the same
   * float expressions), bit for bit, over a grid through the clamp at |u| = 7.9988 (x near
   * +-4.3), far tails, +-0, NaN and an n that is not a multiple of the chunk; with and without
   * the derivative. Exact equality: Java float arithmetic is not contracted, so splitting the
   * loop must not change a bit (the server's golden fits rely on that).
   */
  @Test
  void chunkedForwardIsBitIdenticalToTheOneElementForm() {
    int n = 3 * Gelu.CHUNK + 77;
    float[] p = new float[n];
    float[] bias = new float[n];
    for (int i = 0; i < n; i++) {
      p[i] = -6f + 12f * i / n;
      bias[i] = (i % 5 - 2) * 1e-3f;
    }
    float[] special = {0f, -0f, Float.NaN, 1e30f, -1e30f, 4.3f, -4.3f, 4.2f, -4.2f, 1e-30f, -1e-30f};
    System.arraycopy(special, 0, p, 100, special.length);
    float[] a = new float[n];
    float[] g = new float[n];
    float[] a2 = new float[n];
    Gelu.forward(p, 0, bias, a, 0, g, 0, n);
    Gelu.forward(p, 0, bias, a2, 0, null, 0, n);
    for (int i = 0; i < n; i++) {
      float x = p[i] + bias[i];
      float x2 = x * x;
      float t = Gelu.tanh(Gelu.C * (x + Gelu.K * x2 * x));
      float half = 0.5f * (1f + t);
      float value = x * half;
      float grad = half + 0.5f * x * ((1f - t) * (1f + t)) * (Gelu.C * (1f + 3f * Gelu.K * x2));
      assertThat(Float.floatToIntBits(a[i])).as("GELU(%s)", x).isEqualTo(Float.floatToIntBits(value));
      assertThat(Float.floatToIntBits(a2[i])).as("GELU(%s) without grad", x).isEqualTo(Float.floatToIntBits(value));
      assertThat(Float.floatToIntBits(g[i])).as("GELU'(%s)", x).isEqualTo(Float.floatToIntBits(grad));
    }
  }

  private static double gelu(double x) {
    return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  }
}
