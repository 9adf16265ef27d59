package dev.activerm.server.core.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test-side access to an {@link MlpNetwork}'s tensors for the Fit benchmark (its package is
 * another): writes them for the Python half and evaluates the prior part of the fit's objective.
 */
public final class MlpTensors {
  private MlpTensors() {}

  /**
   * name_W{l}.f32 (row-major out x in, as torch.nn.Linear.weight), name_b{l}.f32 and name_w.f32,
   * little-endian float32.
   */
  public static void write(Path dir, String name, MlpNetwork net) throws IOException {
    for (int l = 0; l < net.layers(); l++) {
      writeFloats(dir.resolve(name + "_W" + l + ".f32"), net.weights[l]);
      writeFloats(dir.resolve(name + "_b" + l + ".f32"), net.biases[l]);
    }
    writeFloats(dir.resolve(name + "_w.f32"), net.last);
  }

  /**
   * The prior part of MlpTrainer's objective, (penalty / 2) (||w||^2 + sum_l ||W_l - W_l^(0)||^2)
   * with W^(0) anchor's weight matrices, in double with plain loops.
   */
  public static double priorValue(MlpNetwork net, MlpNetwork anchor, double penalty) {
    double sq = 0;
    for (float v : net.last) {
      sq += (double) v * v;
    }
    for (int l = 0; l < net.layers(); l++) {
      for (int i = 0; i < net.weights[l].length; i++) {
        double d = (double) net.weights[l][i] - anchor.weights[l][i];
        sq += d * d;
      }
    }
    return 0.5 * penalty * sq;
  }

  private static void writeFloats(Path p, float[] v) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(v);
    Files.write(p, buf.array());
  }
}
