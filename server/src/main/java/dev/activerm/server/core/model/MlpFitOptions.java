package dev.activerm.server.core.model;

/**
 * Adam for the MLP head. Defaults: learningRate 1e-3, epochs 10, batchSize 256,
 * weightDecay 0 (decoupled, AdamW style, on weight matrices and the last layer, not on
 * biases), validationFraction 0 (no early stopping), patience 3 epochs.
 */
public record MlpFitOptions(
    double learningRate, int epochs, int batchSize, double weightDecay, double validationFraction, int patience) {
  public static final double DEFAULT_LEARNING_RATE = 1e-3;
  public static final int DEFAULT_EPOCHS = 10;
  public static final int DEFAULT_BATCH_SIZE = 256;
  public static final int DEFAULT_PATIENCE = 3;

  public MlpFitOptions {
    if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
      throw new IllegalArgumentException("learningRate is " + learningRate + "; use a finite value > 0");
    }
    if (epochs < 1 || epochs > 100_000) {
      throw new IllegalArgumentException("epochs is " + epochs + "; use 1..100000");
    }
    if (batchSize < 1 || batchSize > 1_000_000) {
      throw new IllegalArgumentException("batchSize is " + batchSize + "; use 1..1000000");
    }
    if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
      throw new IllegalArgumentException("weightDecay is " + weightDecay + "; use a finite value >= 0");
    }
    if (!(validationFraction >= 0 && validationFraction < 0.5)) {
      throw new IllegalArgumentException("validationFraction is " + validationFraction + "; use 0 <= f < 0.5");
    }
    if (patience < 1) {
      throw new IllegalArgumentException("patience is " + patience + "; use >= 1");
    }
  }

  public static MlpFitOptions defaults() {
    return new MlpFitOptions(DEFAULT_LEARNING_RATE, DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE, 0.0, 0.0, DEFAULT_PATIENCE);
  }
}
