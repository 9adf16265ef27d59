package dev.activerm.server.store;

/**
 * One stored SelectBatch result. parameters is a canonical "key=value;..." string;
 * numComparisons is how many comparisons existed when it was chosen (a chosen pair stays
 * pending until a later comparison labels it).
 */
public record SelectionRecord(
    int seq,
    String selectionId,
    long modelVersion,
    String strategy,
    String parameters,
    long seed,
    int batchSize,
    long numCandidates,
    int numComparisons,
    long createTimeMillis,
    long wallTimeNanos,
    int[] aRows,
    int[] bRows,
    double[] scores) {}
