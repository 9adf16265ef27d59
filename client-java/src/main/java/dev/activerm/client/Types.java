package dev.activerm.client;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** The typed values the client hands back. */
public final class Types {
  private Types() {}

  public enum Head {
    LINEAR,
    MLP
  }

  public enum Outcome {
    A,
    B,
    TIE
  }

  /** Selection strategies; see DESIGN.md for what each computes. */
  public enum Strategy {
    RANDOM,
    MAX_ENTROPY,
    MAX_DIFFERENCE,
    OLS_DOPT,
    DOPT,
    PAST_AWARE_DOPT,
    GREEDY_DOPT,
    CORESET,
    BALD,
    BATCHBALD,
    BATCH_DOPT,
    VOPT
  }

  public record ProjectInfo(
      String projectId,
      int embeddingDim,
      Head head,
      List<Integer> hiddenSizes,
      double l2,
      Instant createTime,
      long numResponses,
      long numComparisons,
      long numPrompts,
      long latestModelVersion,
      long numPendingPairs,
      Duration pendingTtl) {}

  public record AddResult(long numAdded, long total) {}

  /**
   * ids: one per comparison sent (given or server-assigned); numUnchanged: ids already stored with
   * the same content; numDeletedBefore: ids of deleted comparisons with the same content.
   */
  public record AddComparisonsResult(long numAdded, long numComparisons, long numPendingResolved, List<String> ids,
      long numUnchanged, long numDeletedBefore) {}

  public record DeleteComparisonsResult(long numDeleted, long numAlreadyDeleted, long numComparisons) {}

  public record RetireResponsesResult(long numRetired, long numAlreadyRetired) {}

  public record ReleasePairsResult(long numReleased, long numNotPending, long numPendingPairs) {}

  /**
   * A comparison to send; annotatorId may be empty, weight 0 means 1.0, comparisonId empty: the
   * server assigns one (an id already stored with the same content is not stored again).
   */
  public record ComparisonInput(
      String aId, String bId, Outcome outcome, String annotatorId, double weight, String comparisonId) {
    public ComparisonInput(String aId, String bId, Outcome outcome, String annotatorId, double weight) {
      this(aId, bId, outcome, annotatorId, weight, "");
    }

    public static ComparisonInput of(String aId, String bId, Outcome outcome) {
      return new ComparisonInput(aId, bId, outcome, "", 0.0);
    }

    public ComparisonInput withId(String id) {
      return new ComparisonInput(aId, bId, outcome, annotatorId, weight, id);
    }
  }

  public record Comparison(
      String aId, String bId, Outcome outcome, String annotatorId, double weight, Instant createTime, String id) {}

  /** Where a selected pair is in its lifecycle. */
  public enum PairState {
    UNSPECIFIED,
    PENDING,
    LABELED,
    RELEASED
  }

  /** Responses read back; embeddings is null unless asked for, else rows x dim. */
  public record Responses(List<String> ids, List<String> promptIds, float[][] embeddings) {}

  public record FitReport(
      double loss,
      int iterations,
      double gradientNorm,
      boolean converged,
      double trainAccuracy,
      double validationAccuracy,
      Duration wallTime,
      long numComparisons) {}

  public record Model(long version, Head head, FitReport report, Instant createTime) {}

  public record PairScore(String aId, String bId, double probability, double rewardDiffStddev) {}

  public record Scores(long modelVersion, double[] rewards, List<PairScore> pairScores) {}

  public record ScoredPair(String aId, String bId, double score, PairState state) {}

  public record Selection(
      String selectionId,
      long modelVersion,
      Strategy strategy,
      long seed,
      int batchSize,
      long numCandidates,
      List<ScoredPair> pairs,
      Instant createTime,
      Duration wallTime,
      long numLabeled,
      long numPending,
      long numReleased,
      Duration pendingTtl,
      String computedOn,
      BatchInformation information) {

    /** Without information (as before it was measured). */
    public Selection(String selectionId, long modelVersion, Strategy strategy, long seed, int batchSize,
        long numCandidates, List<ScoredPair> pairs, Instant createTime, Duration wallTime, long numLabeled,
        long numPending, long numReleased, Duration pendingTtl, String computedOn) {
      this(selectionId, modelVersion, strategy, seed, batchSize, numCandidates, pairs, createTime, wallTime,
          numLabeled, numPending, numReleased, pendingTtl, computedOn, null);
    }
  }

  /**
   * What a selection's batch adds (a stopping signal): the log det gain over lambda I +
   * F(labeled and pending) in nats, per chosen pair, and per pair relative to the reference
   * selection (the project's first measured one). Selection.information() is null when the
   * server did not measure it (no model at selection time, a registered batch, or an older server).
   */
  public record BatchInformation(double logDetGain, double gainPerLabel, double relativeGainPerLabel,
      String referenceSelectionId) {}

  /**
   * GetPoolUncertainty: the Laplace posterior variance of r_a - r_b over numPairs sampled pool
   * pairs (mean, median, 90th percentile, max), and the mean p (1 - p) of those pairs.
   */
  public record PoolUncertainty(long modelVersion, int numPairs, double meanVariance, double medianVariance,
      double p90Variance, double maxVariance, double meanBernoulliVariance) {}

  /**
   * ExportSelectionState: what a selection computed off the server (the Spark job) needs for
   * the latest model. information is lambda I + F(labeled and pending) and factor its lower
   * Cholesky factor, both h x h row-major; parameters as the server stores them (layerSizes
   * [D] for LINEAR: D little-endian float64 w).
   */
  public record SelectionState(
      long modelVersion,
      Head head,
      int embeddingDim,
      double l2,
      int[] layerSizes,
      byte[] parameters,
      int featureDim,
      double[] information,
      double[] factor,
      List<Pair> labeledPairs,
      List<Pair> pendingPairs,
      List<String> retiredResponseIds) {}

  /**
   * RegisterSelection: a batch chosen off the server for model version modelVersion; pairs in
   * the order chosen with their scores; computedOn e.g. "spark"; newResponses the rows of
   * chosen responses the server may not hold yet (stored in the same commit as the selection;
   * {@link ResponseRows#NONE}: none).
   */
  public record Registration(
      Strategy strategy,
      long modelVersion,
      List<Pair> pairs,
      double[] scores,
      long seed,
      long numCandidates,
      SelectOptions.CandidateSource source,
      long maxCandidates,
      double ridge,
      String computedOn,
      ResponseRows newResponses) {
    /** Without rows: every id the pairs name is already a response of the project. */
    public Registration(Strategy strategy, long modelVersion, List<Pair> pairs, double[] scores, long seed,
        long numCandidates, SelectOptions.CandidateSource source, long maxCandidates, double ridge,
        String computedOn) {
      this(strategy, modelVersion, pairs, scores, seed, numCandidates, source, maxCandidates, ridge, computedOn,
          ResponseRows.NONE);
    }

    /** The same registration carrying these rows. */
    public Registration withNewResponses(ResponseRows rows) {
      return new Registration(strategy, modelVersion, pairs, scores, seed, numCandidates, source, maxCandidates,
          ridge, computedOn, rows);
    }
  }

  /**
   * Rows of responses: one id, one prompt id and one embedding row (dim float32 values,
   * row-major in embeddings) each, as AddResponses takes them.
   */
  public record ResponseRows(List<String> ids, List<String> promptIds, float[] embeddings, int dim) {
    public static final ResponseRows NONE = new ResponseRows(List.of(), List.of(), new float[0], 0);

    public ResponseRows {
      ids = List.copyOf(ids);
      promptIds = List.copyOf(promptIds);
      if (promptIds.size() != ids.size() || dim < 0 || (long) ids.size() * dim != embeddings.length
          || (!ids.isEmpty() && dim == 0)) {
        throw new IllegalArgumentException("got " + ids.size() + " ids, " + promptIds.size() + " prompt ids and "
            + embeddings.length + " floats for dim " + dim + "; send one id, one prompt id and dim floats per row");
      }
    }

    public boolean isEmpty() {
      return ids.isEmpty();
    }
  }

  /** A pair of stored response ids. */
  public record Pair(String aId, String bId) {}
}
