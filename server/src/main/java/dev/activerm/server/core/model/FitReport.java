package dev.activerm.server.core.model;

/**
 * What a Fit did. loss is the weighted mean BT loss on the training comparisons (no
 * penalty); gradientNorm the infinity norm of the penalised objective's gradient
 * (LINEAR; 0 for MLP); iterations Newton steps (LINEAR) or epochs (MLP: Adam steps are
 * iterations x ceil(numComparisons / min(batch, numComparisons))); converged: the tolerance
 * was reached (LINEAR), or a stop criterion held where training ended (MLP: the objective's
 * plateau, {@link MlpStopRule}, or early stopping on the held-out loss); accuracies count
 * non-tie comparisons whose winner has the strictly higher reward.
 */
public record FitReport(
    double loss,
    int iterations,
    double gradientNorm,
    boolean converged,
    double trainAccuracy,
    double validationAccuracy,
    long wallNanos,
    long numComparisons) {

  public FitReport withWallNanos(long nanos) {
    return new FitReport(loss, iterations, gradientNorm, converged, trainAccuracy, validationAccuracy, nanos, numComparisons);
  }
}
