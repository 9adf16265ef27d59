package dev.activerm.server.core.model;

/**
 * GELU in its tanh form, 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), i.e.
 * PyTorch's GELU(approximate="tanh"), in float32 with a rational tanh: the double Math.exp
 * it replaces cost 20-35 ns per element, about as much as all of a minibatch's sgemm at
 * 2 048 -> 3 x 512, while this is a dozen float multiply-adds and one divide.
 *
 * <p>tanh is Eigen's float rational approximation (odd degree-13 numerator over even degree-6
 * denominator, inputs clamped to |u| <= 7.99881172): |error| <= 3.9e-7 against tanh in double
 * (checked by GeluTest on a dense grid), a few float ulps, as PyTorch's own float GELU. Beyond
 * the clamp tanh is taken as exactly +-1, so the derivative's (1 - tanh^2) term is 0 there
 * instead of the approximation's 4.6e-7, which x^3 would otherwise blow up for large |x|.
 * Plain Java float arithmetic (no FMA contraction), so the bits are the same on every JVM.
 */
final class Gelu {
  static final float C = (float) Math.sqrt(2.0 / Math.PI);
  static final float K = 0.044715f;
  private static final float CLAMP = 7.99881172180175781f;
  private static final float A1 = 4.89352455891786e-03f;
  private static final float A3 = 6.37261928875436e-04f;
  private static final float A5 = 1.48572235717979e-05f;
  private static final float A7 = 5.12229709037114e-08f;
  private static final float A9 = -8.60467152213735e-11f;
  private static final float A11 = 2.00018790482477e-13f;
  private static final float A13 = -2.76076847742355e-16f;
  private static final float B0 = 4.89352518554385e-03f;
  private static final float B2 = 2.26843463243900e-03f;
  private static final float B4 = 1.18534705686654e-04f;
  private static final float B6 = 1.19825839466702e-06f;

  private Gelu() {}

  /**
   * tanh(u) by the rational approximation; exactly +-1 beyond the clamp, NaN stays NaN.
   * Branch-free (min / max / abs and a 0-or-1 blend instead of ifs) so that C2 vectorises the
   * loops that inline it: the same bits as clamping with ifs, since 1 * t + 0 * s = t and
   * 0 * t + 1 * s = s exactly.
   */
  static float tanh(float u) {
    float c = Math.min(Math.max(u, -CLAMP), CLAMP);
    float u2 = c * c;
    float p = u2 * A13 + A11;
    p = u2 * p + A9;
    p = u2 * p + A7;
    p = u2 * p + A5;
    p = u2 * p + A3;
    p = u2 * p + A1;
    p = c * p;
    float q = u2 * B6 + B4;
    q = u2 * q + B2;
    q = u2 * q + B0;
    // inside = 1 for |u| < CLAMP (the gap to the clamp is at least a float ulp at 8, 4.8e-7,
    // times 2^60 is far above 1), 0 at or beyond it, NaN for NaN; sign = +-1 beyond the clamp.
    float inside = Math.min(1f, Math.max(0f, (CLAMP - Math.abs(u)) * 0x1p60f));
    float sign = Math.min(1f, Math.max(-1f, c * 0x1p60f));
    return inside * (p / q) + (1f - inside) * sign;
  }

  /** Elements per pass: a chunk's three scratch rows stay in L1 (3 x 2 KiB). */
  static final int CHUNK = 512;

  /** Per-thread scratch for {@link #forward}: one chunk of x, u and tanh(u). */
  static final class Scratch {
    final float[] x = new float[CHUNK];
    final float[] u = new float[CHUNK];
    final float[] t = new float[CHUNK];
  }

  /** As {@link #forward(float[], int, float[], float[], int, float[], int, int, Scratch)} with fresh scratch. */
  static void forward(float[] p, int pOff, float[] bias, float[] a, int aOff, float[] grad, int gOff, int n) {
    forward(p, pOff, bias, a, aOff, grad, gOff, n, new Scratch());
  }

  /**
   * a[aOff + j] = GELU(p[pOff + j] + bias[j]) for j < n: the bias add fused into the activation
   * pass (the sgemm before it runs with beta 0). When grad is not null, grad[gOff + j] gets
   * GELU'(.) at the same point, so the backward pass is one multiply per element.
   *
   * <p>The same float operations as {@link #tanh} element by element (so the same bits), but
   * as five simple loops over an L1-sized chunk instead of one: C2 (JDK 17) does not vectorise
   * the one-loop form (its body is too large to unroll; 18-20 ns per element, CPU time, at
   * load ~20), while each of these short loops becomes AVX code (about 2.5 ns per element for
   * all five, same run; -XX:-UseSuperWord puts them back at ~19 ns).
   */
  static void forward(float[] p, int pOff, float[] bias, float[] a, int aOff, float[] grad, int gOff, int n,
      Scratch s) {
    for (int c0 = 0; c0 < n; c0 += CHUNK) {
      int m = Math.min(CHUNK, n - c0);
      chunk(p, pOff + c0, bias, c0, a, aOff + c0, grad, gOff + c0, m, s);
    }
  }

  private static void chunk(float[] p, int pOff, float[] bias, int bOff, float[] a, int aOff, float[] grad, int gOff,
      int n, Scratch s) {
    float[] xs = s.x;
    float[] us = s.u;
    float[] ts = s.t;
    for (int j = 0; j < n; j++) {
      float x = p[pOff + j] + bias[bOff + j];
      xs[j] = x;
      us[j] = C * (x + K * (x * x) * x);
    }
    for (int j = 0; j < n; j++) { // denominator of the rational tanh
      float c = Math.min(Math.max(us[j], -CLAMP), CLAMP);
      float u2 = c * c;
      float q = u2 * B6 + B4;
      q = u2 * q + B2;
      ts[j] = u2 * q + B0;
    }
    for (int j = 0; j < n; j++) { // numerator over it
      float c = Math.min(Math.max(us[j], -CLAMP), CLAMP);
      float u2 = c * c;
      float q = u2 * A13 + A11;
      q = u2 * q + A9;
      q = u2 * q + A7;
      q = u2 * q + A5;
      q = u2 * q + A3;
      q = u2 * q + A1;
      ts[j] = (c * q) / ts[j];
    }
    for (int j = 0; j < n; j++) { // exactly +-1 beyond the clamp, as in tanh
      float u = us[j];
      float inside = Math.min(1f, Math.max(0f, (CLAMP - Math.abs(u)) * 0x1p60f));
      float sign = Math.min(1f, Math.max(-1f, Math.min(Math.max(u, -CLAMP), CLAMP) * 0x1p60f));
      ts[j] = inside * ts[j] + (1f - inside) * sign;
    }
    if (grad == null) {
      for (int j = 0; j < n; j++) {
        a[aOff + j] = xs[j] * (0.5f * (1f + ts[j]));
      }
      return;
    }
    for (int j = 0; j < n; j++) {
      float x = xs[j];
      float t = ts[j];
      float half = 0.5f * (1f + t);
      a[aOff + j] = x * half;
      grad[gOff + j] = half + 0.5f * x * ((1f - t) * (1f + t)) * (C * (1f + 3f * K * (x * x)));
    }
  }
}
