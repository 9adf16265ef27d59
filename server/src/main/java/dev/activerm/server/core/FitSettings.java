package dev.activerm.server.core;

import dev.activerm.server.core.model.LinearFitOptions;
import dev.activerm.server.core.model.MlpFitOptions;

/** A Fit call: warm start from the latest version or not, the seed, and per-head options. */
public record FitSettings(boolean warmStart, long seed, LinearFitOptions linear, MlpFitOptions mlp) {
  public static FitSettings defaults() {
    return new FitSettings(false, 0L, LinearFitOptions.defaults(), MlpFitOptions.defaults());
  }
}
