package dev.activerm.server.core.model;

import dev.activerm.server.core.model.FitReport;
import dev.activerm.server.core.model.RewardModel;
import java.time.Instant;

/**
 * A stored model version: the model, its head type, its fit report, and how many
 * comparisons of the project existed when it was fitted (its posterior uses that prefix).
 */
public record FittedModel(RewardModel model, HeadType headType, FitReport report, long comparisonsSeen, Instant createTime) {
  public long version() {
    return model.version();
  }
}
