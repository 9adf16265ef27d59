package dev.activerm.server.core.fit;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.project.EmbeddingValues;
import dev.activerm.server.core.project.Identifiers;
import dev.activerm.server.core.project.ProjectSpec;
import java.util.List;

/**
 * A Score call. Subjects are either stored responses (responseIds, may be empty) or sent
 * embeddings (rows x cols, float32 row-major; null when not sent). Pairs are given as two
 * parallel id lists. modelVersion 0 means the latest.
 */
public record ScoreQuery(
    long modelVersion,
    List<String> responseIds,
    float[] embeddings,
    int embeddingRows,
    int embeddingCols,
    List<String> pairA,
    List<String> pairB) {
  public static final int MAX_ROWS = 100_000;
  public static final int MAX_PAIRS = 1_000_000;

  /** INVALID_ARGUMENT naming every bad field, for a project with this spec. */
  void check(ProjectSpec spec) {
    int dim = spec.embeddingDim();
    Violations v = new Violations();
    if (modelVersion < 0) {
      v.add("model_version", "is " + modelVersion + "; use a version >= 1, or 0 for the latest");
    }
    if (embeddings != null) {
      if (embeddingRows > 0 && embeddingCols != dim) {
        v.add("embeddings.cols", "is " + embeddingCols + " but project '" + spec.id()
            + "' has embedding_dim " + dim + "; send rows of length " + dim);
      }
      if (embeddingRows > MAX_ROWS) {
        v.add("embeddings.rows", "is " + embeddingRows + "; score at most " + MAX_ROWS + " rows per call");
      }
      for (int i = 0; i < embeddings.length && v.isEmpty(); i++) {
        String problem = EmbeddingValues.problem(embeddings[i]);
        if (problem != null) {
          v.add("embeddings.data", "row " + (i / Math.max(1, embeddingCols)) + ", column "
              + (i % Math.max(1, embeddingCols)) + " " + problem);
        }
      }
    } else if (responseIds.size() > MAX_ROWS) {
      v.add("response_ids.ids", "has " + responseIds.size() + " ids; score at most " + MAX_ROWS + " per call");
    }
    if (pairA.size() > MAX_PAIRS) {
      v.add("pairs", "has " + pairA.size() + " pairs; at most " + MAX_PAIRS + " per call");
    }
    for (int k = 0; k < pairA.size() && k < MAX_PAIRS; k++) {
      String pa = Identifiers.problem(pairA.get(k));
      String pb = Identifiers.problem(pairB.get(k));
      if (pa != null) {
        v.add("pairs[" + k + "].a_id", pa);
      }
      if (pb != null) {
        v.add("pairs[" + k + "].b_id", pb);
      }
    }
    int subjects = embeddings != null ? embeddingRows : responseIds.size();
    if (v.isEmpty() && subjects == 0 && pairA.isEmpty()) {
      v.add("subject", "nothing to score: send response_ids, embeddings or pairs");
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid Score request:");
  }
}
