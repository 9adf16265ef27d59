package dev.activerm.server.store;

/**
 * A comparison row as stored: responses by pool row, outcome by ordinal. seq is its place in
 * the project's insertion order (monotonic, never reused, even after a delete); comparisonId
 * is unique in the project; deletedTimeMillis is 0 for a live comparison, else when
 * DeleteComparisons removed it (deleted rows stay as tombstones: their ids stay taken and the
 * pending pairs they resolved stay resolved after a restart).
 */
public record ComparisonRecord(
    long seq, String comparisonId, int aRow, int bRow, int outcome, double weight, String annotatorId,
    long createTimeMillis, long deletedTimeMillis) {

  public boolean deleted() {
    return deletedTimeMillis != 0;
  }
}
