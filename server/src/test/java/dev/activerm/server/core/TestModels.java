package dev.activerm.server.core;

import dev.activerm.server.core.model.RewardModel;

/** Test-only: publishes a model as if Fit had produced it (until Fit lands, then tests call Fit). */
public final class TestModels {
  private TestModels() {}

  public static void publish(ProjectRegistry registry, String projectId, RewardModel model) {
    registry.require(projectId).latestModel = model;
  }
}
