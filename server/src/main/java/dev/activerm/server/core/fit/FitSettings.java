package dev.activerm.server.core.fit;

import dev.activerm.server.core.model.LinearFitOptions;
import dev.activerm.server.core.model.MlpFitOptions;

/** A Fit call: warm start from the latest version or not, the seed, and per-head options. */
public record FitSettings(boolean warmStart, long seed, LinearFitOptions linear, MlpFitOptions mlp) {}
