package dev.activerm.server.core.project;

import dev.activerm.server.core.model.FitReport;
import dev.activerm.server.core.model.FittedModel;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.model.RewardModel;
import java.time.Instant;

/** Test-only: publishes a model as if Fit had produced it (not stored). */
public final class TestModels {
  private TestModels() {}

  public static void publish(ProjectRegistry registry, String projectId, RewardModel model) {
    HeadType head = model instanceof LinearRewardModel ? HeadType.LINEAR : HeadType.MLP;
    FitReport report = new FitReport(0, 0, 0, true, 0, 0, 0, 0);
    registry.require(projectId).publish(new FittedModel(model, head, report, 0, Instant.EPOCH));
  }
}
