package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.model.HeadSpec;
import java.time.Instant;

/** What a project is, fixed at creation: id, embedding length, head and prior precision. */
public record ProjectSpec(String id, int embeddingDim, HeadSpec head, double l2, Instant createTime) {
  public static final int MAX_EMBEDDING_DIM = 65536;
  public static final double DEFAULT_L2 = 1.0;

  /**
   * Validates a CreateProject request and applies the defaults (l2 = 0 means 1.0).
   * Reports every bad field at once.
   */
  public static ProjectSpec create(String id, int embeddingDim, HeadSpec head, double l2, Instant now) {
    Violations v = new Violations();
    String idProblem = Identifiers.problem(id);
    if (idProblem != null) {
      v.add("project_id", idProblem);
    }
    if (embeddingDim < 1 || embeddingDim > MAX_EMBEDDING_DIM) {
      v.add(
          "embedding_dim",
          "is " + embeddingDim + "; set it to the length of your embeddings, 1.." + MAX_EMBEDDING_DIM);
    }
    double lambda = l2 == 0.0 ? DEFAULT_L2 : l2;
    if (!(lambda > 0) || !Double.isFinite(lambda)) {
      v.add("l2", "is " + l2 + "; the prior precision must be finite and > 0 (0 means the default 1.0)");
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid CreateProject request:");
    return new ProjectSpec(id, embeddingDim, head, lambda, now);
  }
}
