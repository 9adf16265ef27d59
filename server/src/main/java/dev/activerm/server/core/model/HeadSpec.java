package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import java.util.Arrays;

/**
 * A head architecture: LINEAR has no hidden layers; MLP has 1..8 GELU layers of
 * 1..8192 units, [512, 512, 512] by default.
 */
public record HeadSpec(HeadType type, int[] hiddenSizes) {
  public static final int[] DEFAULT_MLP_HIDDEN = {512, 512, 512};
  public static final int MAX_LAYERS = 8;
  public static final int MAX_WIDTH = 8192;

  public HeadSpec {
    hiddenSizes = hiddenSizes.clone();
  }

  /** Applies defaults and checks the ranges; field names are those of CreateProjectRequest. */
  public static HeadSpec of(HeadType type, int[] hiddenSizes) {
    HeadType t = type == null ? HeadType.LINEAR : type;
    Violations v = new Violations();
    if (t == HeadType.LINEAR && hiddenSizes.length > 0) {
      v.add("head.hidden_sizes", "must be empty for a LINEAR head; use HEAD_TYPE_MLP for hidden layers");
    }
    if (hiddenSizes.length > MAX_LAYERS) {
      v.add("head.hidden_sizes", "has " + hiddenSizes.length + " layers; at most " + MAX_LAYERS);
    }
    for (int i = 0; i < hiddenSizes.length; i++) {
      if (hiddenSizes[i] < 1 || hiddenSizes[i] > MAX_WIDTH) {
        v.add("head.hidden_sizes[" + i + "]", "is " + hiddenSizes[i] + "; must be 1.." + MAX_WIDTH);
      }
    }
    v.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid head configuration:");
    int[] sizes = t == HeadType.MLP && hiddenSizes.length == 0 ? DEFAULT_MLP_HIDDEN : hiddenSizes;
    return new HeadSpec(t, sizes);
  }

  @Override
  public int[] hiddenSizes() {
    return hiddenSizes.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HeadSpec h && h.type == type && Arrays.equals(h.hiddenSizes, hiddenSizes);
  }

  @Override
  public int hashCode() {
    return 31 * type.hashCode() + Arrays.hashCode(hiddenSizes);
  }

  @Override
  public String toString() {
    return type == HeadType.LINEAR ? "LINEAR" : "MLP" + Arrays.toString(hiddenSizes);
  }
}
