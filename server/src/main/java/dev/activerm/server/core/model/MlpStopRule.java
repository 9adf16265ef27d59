package dev.activerm.server.core.model;

/**
 * When the MLP head's until-converged schedule (mlp.until_converged) stops, and whether any MLP fit may
 * call itself converged. It watches the penalised training objective MlpTrainer minimises
 * (BT loss plus the prior terms, per comparison), as the mean over each epoch of the
 * minibatch values the epoch computed anyway (no extra forward pass; with one minibatch per
 * epoch, the case below 257 labels, it is the exact full objective before each step). The
 * rule holds at the end of an epoch when
 *
 * <pre>steps >= MIN_STEPS  and  f(window ago) - f(now) <= TOLERANCE * f(first epoch)</pre>
 *
 * with the window WINDOW_STEPS Adam steps rounded up to whole epochs (at least one). The
 * improvement is relative to the fit's starting objective (about ln 2 from a cold start), not
 * to f(now): a head that memorises its labels drives f towards a small floor by a roughly
 * constant fraction per window, so "relative to now" ran into the cap on every embedding-world
 * fit measured. A rise counts as holding (Adam at a fixed rate hovers around the minimum).
 * That schedule ends at the first epoch where it holds, or at the cap: the last whole
 * epoch within MAX_STEPS steps, at least one epoch, so the worst case is max(MAX_STEPS,
 * ceil(n / batch)) steps of min(n, batch) comparisons each. Constants from the measurements in
 * docs/benchmarks.md ("Default schedule (issue 12, session 8)").
 */
final class MlpStopRule {
  /** Below this Adam at lr 1e-3 has moved each weight by at most ~0.2: too early to judge a plateau. */
  static final int MIN_STEPS = 200;
  /**
   * Bounded cost on big projects: the default 10 epochs of 256 cost as much at 102 400
   * labels; ~6 CPU minutes for the 3 x 512 head at D = 2048 (0.085 CPU s per step measured in
   * docs/benchmarks.md). 2500 cut the toy world's fits at 32-128 labels before the rule held.
   */
  static final int MAX_STEPS = 4_000;
  /** 100 stopped the toy world at 500-700 steps on a slow stretch still 6% above its 4000-step objective. */
  static final int WINDOW_STEPS = 200;
  static final double TOLERANCE = 1e-3;

  private final int stepsPerEpoch;
  private final double[] recent; // ring buffer of the last windowEpochs + 1 epoch objectives
  private int epochs;
  private double first;

  MlpStopRule(int stepsPerEpoch) {
    if (stepsPerEpoch < 1) {
      throw new IllegalArgumentException("stepsPerEpoch is " + stepsPerEpoch + "; use >= 1");
    }
    this.stepsPerEpoch = stepsPerEpoch;
    int windowEpochs = (WINDOW_STEPS + stepsPerEpoch - 1) / stepsPerEpoch;
    recent = new double[windowEpochs + 1];
  }

  /** Epochs the until-converged schedule may run: those that fit in MAX_STEPS, at least one. */
  static int maxEpochs(int stepsPerEpoch) {
    return Math.max(1, MAX_STEPS / stepsPerEpoch);
  }

  /** Records the objective of the epoch just ended (mean over its minibatches). */
  void epochEnded(double objective) {
    if (epochs == 0) {
      first = objective;
    }
    recent[epochs % recent.length] = objective;
    epochs++;
  }

  /** True when the objective has stopped improving (see the class comment). */
  boolean held() {
    if (epochs < recent.length || (long) epochs * stepsPerEpoch < MIN_STEPS) {
      return false;
    }
    double now = recent[(epochs - 1) % recent.length];
    double before = recent[epochs % recent.length]; // windowEpochs epochs before now
    return before - now <= TOLERANCE * Math.abs(first);
  }
}
