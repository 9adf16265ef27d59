package dev.activerm.client;

/**
 * Options of a Fit call; zero values mean the server's documented defaults.
 *
 * @param warmStart start from the latest model's parameters
 * @param seed seed for initialisation, shuffling and the held-out split
 * @param maxIterations LINEAR: Newton iterations (0: 100)
 * @param tolerance LINEAR: gradient inf-norm target (0: 1e-8)
 * @param learningRate MLP: Adam step (0: 1e-3)
 * @param epochs MLP: passes (0: until the training objective stops improving, at most 4000
 *     Adam steps; the report's converged says whether it did)
 * @param batchSize MLP: comparisons per minibatch (0: 256)
 * @param weightDecay MLP: decoupled weight decay
 * @param validationFraction MLP: held-out fraction for early stopping
 * @param patience MLP: epochs without improvement before stopping (0: 3)
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
    int patience) {

  public static FitOptions defaults() {
    return new FitOptions(false, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  public FitOptions withSeed(long newSeed) {
    return new FitOptions(warmStart, newSeed, maxIterations, tolerance, learningRate, epochs, batchSize,
        weightDecay, validationFraction, patience);
  }

  public FitOptions withEpochs(int newEpochs) {
    return new FitOptions(warmStart, seed, maxIterations, tolerance, learningRate, newEpochs, batchSize,
        weightDecay, validationFraction, patience);
  }

  public FitOptions withWarmStart(boolean newWarmStart) {
    return new FitOptions(newWarmStart, seed, maxIterations, tolerance, learningRate, epochs, batchSize,
        weightDecay, validationFraction, patience);
  }
}
