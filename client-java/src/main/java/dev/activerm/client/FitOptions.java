package dev.activerm.client;

/**
 * Options of a Fit call; zero values mean the server's documented defaults.
 *
 * @param warmStart start from the latest model's parameters
 * @param seed seed for initialisation, shuffling and the held-out split
 * @param maxIterations LINEAR: Newton iterations (0: 100)
 * @param tolerance LINEAR: gradient inf-norm target (0: 1e-8)
 * @param learningRate MLP: Adam step (0: 1e-3)
 * @param epochs MLP: passes (0: 10; must be 0 with untilConverged)
 * @param batchSize MLP: comparisons per minibatch (0: 256)
 * @param weightDecay MLP: decoupled weight decay
 * @param validationFraction MLP: held-out fraction for early stopping
 * @param patience MLP: epochs without improvement before stopping (0: 3)
 * @param untilConverged MLP: train until the penalised training objective stops improving, at
 *     most 4000 Adam steps, instead of for epochs (the report's converged says whether it did)
 */
public record FitOptions(
    boolean warmStart,
    long seed,
    int maxIterations,
    double tolerance,
    double learningRate,
    int epochs,
    int batchSize,
    double weightDecay,
    double validationFraction,
    int patience,
    boolean untilConverged) {

  /** Without untilConverged (the options before it existed). */
  public FitOptions(boolean warmStart, long seed, int maxIterations, double tolerance, double learningRate,
      int epochs, int batchSize, double weightDecay, double validationFraction, int patience) {
    this(warmStart, seed, maxIterations, tolerance, learningRate, epochs, batchSize, weightDecay,
        validationFraction, patience, false);
  }

  public static FitOptions defaults() {
    return new FitOptions(false, 0, 0, 0, 0, 0, 0, 0, 0, 0, false);
  }

  public FitOptions withSeed(long newSeed) {
    return new FitOptions(warmStart, newSeed, maxIterations, tolerance, learningRate, epochs, batchSize,
        weightDecay, validationFraction, patience, untilConverged);
  }

  public FitOptions withEpochs(int newEpochs) {
    return new FitOptions(warmStart, seed, maxIterations, tolerance, learningRate, newEpochs, batchSize,
        weightDecay, validationFraction, patience, untilConverged);
  }

  public FitOptions withUntilConverged(boolean newUntilConverged) {
    return new FitOptions(warmStart, seed, maxIterations, tolerance, learningRate, epochs, batchSize,
        weightDecay, validationFraction, patience, newUntilConverged);
  }

  public FitOptions withWarmStart(boolean newWarmStart) {
    return new FitOptions(newWarmStart, seed, maxIterations, tolerance, learningRate, epochs, batchSize,
        weightDecay, validationFraction, patience, untilConverged);
  }
}
