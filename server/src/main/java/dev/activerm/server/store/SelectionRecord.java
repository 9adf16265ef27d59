package dev.activerm.server.store;

/**
 * One stored SelectBatch result. parameters is a canonical "key=value;..." string;
 * numComparisons is the comparison seq boundary when it was chosen (the next seq to be
 * assigned; the comparison count before deletions existed): a chosen pair stays pending until a
 * comparison with seq >= it labels it, it is released, or pendingTtlMillis (0: none) passes;
 * gain is null when the batch's information was not measured.
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
    double[] scores,
    long pendingTtlMillis,
    SelectionGain gain) {

  /** A selection without a measured gain (registered batches, selections stored before schema 3). */
  public SelectionRecord(int seq, String selectionId, long modelVersion, String strategy, String parameters, long seed,
      int batchSize, long numCandidates, int numComparisons, long createTimeMillis, long wallTimeNanos, int[] aRows,
      int[] bRows, double[] scores, long pendingTtlMillis) {
    this(seq, selectionId, modelVersion, strategy, parameters, seed, batchSize, numCandidates, numComparisons,
        createTimeMillis, wallTimeNanos, aRows, bRows, scores, pendingTtlMillis, null);
  }

  /** When unlabeled pairs expire (server clock, ms), or Long.MAX_VALUE without a TTL. */
  public long expireAtMillis() {
    return pendingTtlMillis == 0 ? Long.MAX_VALUE : createTimeMillis + pendingTtlMillis;
  }
}
