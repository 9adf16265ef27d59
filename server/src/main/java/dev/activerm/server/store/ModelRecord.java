package dev.activerm.server.store;

/**
 * One stored model version: parameters (see core.model.ModelCodec), layer sizes, the fit
 * report and how many comparisons of the project's log existed when it was fitted (the
 * prefix its posterior is built from).
 */
public record ModelRecord(
    long projectKey,
    long version,
    String headType,
    int[] layerSizes,
    byte[] params,
    double loss,
    int iterations,
    double gradientNorm,
    boolean converged,
    double trainAccuracy,
    double validationAccuracy,
    long wallNanos,
    long numComparisons,
    long comparisonsSeen,
    long createTimeMillis) {}
