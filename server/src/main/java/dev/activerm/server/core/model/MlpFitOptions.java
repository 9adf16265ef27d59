package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.Violations;

/**
 * Adam for the MLP head. Defaults: learningRate 1e-3, epochs {@link #UNTIL_CONVERGED} (train
 * until the penalised training objective stops improving, capped: {@link MlpStopRule}),
 * batchSize 256, weightDecay 0 (decoupled, AdamW style, on weight matrices and the last layer,
 * not on biases), validationFraction 0 (no early stopping), patience 3 epochs. This record owns
 * the defaults and the ranges; the wire's 0 means "default".
 */
public record MlpFitOptions(
    double learningRate, int epochs, int batchSize, double weightDecay, double validationFraction, int patience) {
  public static final double DEFAULT_LEARNING_RATE = 1e-3;
  /**
   * epochs = 0: the default schedule. Until session 8 the default was 10 epochs, which at a
   * few dozen labels is 10 Adam steps at lr 1e-3, a barely trained head (issue 12).
   */
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

  public static MlpFitOptions defaults() {
    return new MlpFitOptions(DEFAULT_LEARNING_RATE, UNTIL_CONVERGED, DEFAULT_BATCH_SIZE, 0.0, 0.0, DEFAULT_PATIENCE);
  }

  /**
   * The options a request asks for, 0 meaning the default; null (with a violation per bad
   * field, named as in FitRequest under prefix, e.g. "mlp.") when out of range.
   */
  public static MlpFitOptions fromRequest(double learningRate, int epochs, int batchSize, double weightDecay,
      double validationFraction, int patience, String prefix, Violations v) {
    double lr = learningRate == 0 ? DEFAULT_LEARNING_RATE : learningRate;
    int e = epochs;
    int batch = batchSize == 0 ? DEFAULT_BATCH_SIZE : batchSize;
    int pat = patience == 0 ? DEFAULT_PATIENCE : patience;
    int before = v.count();
    if (!learningRateOk(lr)) {
      v.add(prefix + "learning_rate", "is " + learningRate + "; use a finite value > 0 (0 means 1e-3)");
    }
    if (!epochsOk(e)) {
      v.add(prefix + "epochs", "is " + epochs + "; use 0.." + MAX_EPOCHS
          + " (0 means: until the training objective stops improving)");
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
