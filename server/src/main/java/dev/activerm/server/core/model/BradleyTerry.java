package dev.activerm.server.core.model;

/**
 * The Bradley–Terry likelihood in numerically stable forms. For a comparison with reward
 * margin s = r_a - r_b and target y = P(a wins) (1, 0 or 1/2 for a tie), the loss is
 * BCE(sigma(s), y) = -y log sigma(s) - (1 - y) log sigma(-s), its derivative in s is
 * sigma(s) - y and its curvature sigma(s) sigma(-s).
 */
public final class BradleyTerry {
  private BradleyTerry() {}

  /** sigma(s) = 1 / (1 + e^-s), without overflow for any finite s. */
  public static double sigmoid(double s) {
    if (s >= 0) {
      return 1.0 / (1.0 + Math.exp(-s));
    }
    double e = Math.exp(s);
    return e / (1.0 + e);
  }

  /**
   * sigma(s) clipped to [1e-12, 1 - 1e-12]: the label probability the selection strategies
   * use, so an entropy or a Bernoulli variance never meets an exact 0 or 1.
   */
  public static double clippedSigmoid(double s) {
    return Math.min(1 - 1e-12, Math.max(1e-12, sigmoid(s)));
  }

  /**
   * v_k = p_k (1 - p_k) with p_k = {@link #clippedSigmoid}(d_k) for every margin: the Fisher
   * weight of a pair in the design strategies. (The fit's Newton weights use
   * {@link #curvature}, which keeps full precision in the tails instead.)
   */
  public static double[] clippedVariance(double[] d) {
    double[] v = new double[d.length];
    for (int k = 0; k < d.length; k++) {
      double p = clippedSigmoid(d[k]);
      v[k] = p * (1 - p);
    }
    return v;
  }

  /** log sigma(s) = -log(1 + e^-s), accurate for large |s| (no log(0), no cancellation). */
  public static double logSigmoid(double s) {
    return s >= 0 ? -Math.log1p(Math.exp(-s)) : s - Math.log1p(Math.exp(s));
  }

  /** BCE(sigma(s), y) = -y log sigma(s) - (1 - y) log sigma(-s). */
  public static double loss(double s, double y) {
    if (y == 1.0) {
      return -logSigmoid(s);
    }
    if (y == 0.0) {
      return -logSigmoid(-s);
    }
    return -y * logSigmoid(s) - (1 - y) * logSigmoid(-s);
  }

  /** d BCE / d s = sigma(s) - y. */
  public static double dLoss(double s, double y) {
    return sigmoid(s) - y;
  }

  /** sigma(s) (1 - sigma(s)), computed as sigma(s) sigma(-s) so it never rounds to a negative. */
  public static double curvature(double s) {
    return sigmoid(s) * sigmoid(-s);
  }
}
