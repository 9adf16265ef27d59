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
    BATCHBALD
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
      long numPendingPairs) {}

  public record AddResult(long numAdded, long total) {}

  public record AddComparisonsResult(long numAdded, long numComparisons, long numPendingResolved) {}

  /** A comparison to send; annotatorId may be empty, weight 0 means 1.0. */
  public record ComparisonInput(String aId, String bId, Outcome outcome, String annotatorId, double weight) {
    public static ComparisonInput of(String aId, String bId, Outcome outcome) {
      return new ComparisonInput(aId, bId, outcome, "", 0.0);
    }
  }

  public record Comparison(
      String aId, String bId, Outcome outcome, String annotatorId, double weight, Instant createTime) {}

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

  public record ScoredPair(String aId, String bId, double score) {}

  public record Selection(
      String selectionId,
      long modelVersion,
      Strategy strategy,
      long seed,
      int batchSize,
      long numCandidates,
      List<ScoredPair> pairs,
      Instant createTime,
      Duration wallTime) {}

  /** A pair of stored response ids. */
  public record Pair(String aId, String bId) {}
}
