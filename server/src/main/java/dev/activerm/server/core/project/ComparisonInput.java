package dev.activerm.server.core.project;

/**
 * One comparison as a caller sends it. outcome may be null (unset), weight 0 means 1.0,
 * annotatorId may be empty; {@link ProjectRegistry#addComparisons} checks all of it.
 */
public record ComparisonInput(
    String aId, String bId, Outcome outcome, String annotatorId, double weight, String comparisonId) {

  /** Without an id: the server assigns one. */
  public ComparisonInput(String aId, String bId, Outcome outcome, String annotatorId, double weight) {
    this(aId, bId, outcome, annotatorId, weight, "");
  }
}
