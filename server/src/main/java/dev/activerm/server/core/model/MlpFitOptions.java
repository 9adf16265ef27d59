package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.Violations;

/**
 * Adam for the MLP head. Defaults: learningRate 1e-3, epochs 10, batchSize 256, weightDecay 0
 * (decoupled, AdamW style, on weight matrices and the last layer, not on biases),
 * validationFraction 0 (no early stopping), patience 3 epochs. epochs {@link #UNTIL_CONVERGED}
 * (the wire's until_converged) trains until the penalised training objective stops improving,
 * capped ({@link MlpStopRule}). This record owns the defaults and the ranges; the wire's 0
 * means "default".
 */
public record MlpFitOptions(
    double learningRate, int epochs, int batchSize, double weightDecay, double validationFraction, int patience) {
  public static final double DEFAULT_LEARNING_RATE = 1e-3;
  /**
   * 10 epochs: at a few dozen labels 10 Adam steps at lr 1e-3, a barely trained head, but
   * kept as the default because training to convergence was worse on held-out pairs at 32-512
   * labels (docs/benchmarks.md, "Default schedule (issue 12, session 8)"): the early stop is
   * the only thing holding a small-data MLP back from its labels until the prior is chosen
   * from the data. FitReport.converged says when it ended before a plateau.
   */
  public static final int DEFAULT_EPOCHS = 10;
  /** epochs = 0 inside the server: train until {@link MlpStopRule} holds (the wire's until_converged). */
  public static final int UNTIL_CONVERGED = 0;
  public static final int DEFAULT_BATCH_SIZE = 256;
  public static final int DEFAULT_PATIENCE = 3;
  public static final int MAX_EPOCHS = 100_000;
  public static final int MAX_BATCH_SIZE = 1_000_000;

  public MlpFitOptions {
    if (!learningRateOk(learningRate)) {
      throw new IllegalArgumentException("learningRate is " + learningRate + "; use a finite value > 0");
    }
    if (!epochsOk(epochs)) {
      throw new IllegalArgumentException("epochs is " + epochs + "; use 0.." + MAX_EPOCHS
          + " (0: train until the objective stops improving)");
    }
    if (!batchSizeOk(batchSize)) {
      throw new IllegalArgumentException("batchSize is " + batchSize + "; use 1.." + MAX_BATCH_SIZE);
    }
    if (!weightDecayOk(weightDecay)) {
      throw new IllegalArgumentException("weightDecay is " + weightDecay + "; use a finite value >= 0");
    }
    if (!validationFractionOk(validationFraction)) {
      throw new IllegalArgumentException("validationFraction is " + validationFraction + "; use 0 <= f < 0.5");
    }
    if (patience < 1) {
      throw new IllegalArgumentException("patience is " + patience + "; use >= 1");
    }
  }

  /** True when training ends by {@link MlpStopRule} (or its cap), not after a fixed epoch count. */
  public boolean untilConverged() {
    return epochs == UNTIL_CONVERGED;
  }

  public static MlpFitOptions defaults() {
    return new MlpFitOptions(DEFAULT_LEARNING_RATE, DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE, 0.0, 0.0, DEFAULT_PATIENCE);
  }

  /**
   * The options a request asks for, 0 meaning the default; null (with a violation per bad
   * field, named as in FitRequest under prefix, e.g. "mlp.") when out of range.
   */
  public static MlpFitOptions fromRequest(double learningRate, int epochs, boolean untilConverged, int batchSize,
      double weightDecay, double validationFraction, int patience, String prefix, Violations v) {
    double lr = learningRate == 0 ? DEFAULT_LEARNING_RATE : learningRate;
    int e = untilConverged ? UNTIL_CONVERGED : epochs == 0 ? DEFAULT_EPOCHS : epochs;
    int batch = batchSize == 0 ? DEFAULT_BATCH_SIZE : batchSize;
    int pat = patience == 0 ? DEFAULT_PATIENCE : patience;
    int before = v.count();
    if (!learningRateOk(lr)) {
      v.add(prefix + "learning_rate", "is " + learningRate + "; use a finite value > 0 (0 means 1e-3)");
    }
    if (untilConverged && epochs != 0) {
      v.add(prefix + "until_converged", "is true while epochs is " + epochs + "; set epochs to 0 (the stop rule"
          + " then ends training, at most " + MlpStopRule.MAX_STEPS + " Adam steps) or until_converged to false");
    } else if (!epochsOk(e)) {
      v.add(prefix + "epochs", "is " + epochs + "; use 0.." + MAX_EPOCHS + " (0 means " + DEFAULT_EPOCHS + ")");
    }
    if (!batchSizeOk(batch)) {
      v.add(prefix + "batch_size", "is " + batchSize + "; use 0.." + MAX_BATCH_SIZE + " (0 means "
          + DEFAULT_BATCH_SIZE + ")");
    }
    if (!weightDecayOk(weightDecay)) {
      v.add(prefix + "weight_decay", "is " + weightDecay + "; use a finite value >= 0");
    }
    if (!validationFractionOk(validationFraction)) {
      v.add(prefix + "validation_fraction", "is " + validationFraction
          + "; use 0 <= f < 0.5 (0 means no held-out set)");
    }
    if (pat < 1) {
      v.add(prefix + "patience", "is " + patience + "; use a value >= 0 (0 means " + DEFAULT_PATIENCE + ")");
    }
    return v.count() == before ? new MlpFitOptions(lr, e, batch, weightDecay, validationFraction, pat) : null;
  }

  private static boolean learningRateOk(double lr) {
    return lr > 0 && Double.isFinite(lr);
  }

  private static boolean epochsOk(int e) {
    return e >= 0 && e <= MAX_EPOCHS;
  }

  private static boolean batchSizeOk(int b) {
    return b >= 1 && b <= MAX_BATCH_SIZE;
  }

  private static boolean weightDecayOk(double d) {
    return d >= 0 && Double.isFinite(d);
  }

  private static boolean validationFractionOk(double f) {
    return f >= 0 && f < 0.5;
  }
}
