package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Blas;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * One Fit's MLP in native memory: the weight matrices and w, their gradients and one
 * minibatch's activations live off-heap, allocated once per Fit, so the sgemm / sgemv calls of
 * forward and backward pass pointers and JavaCPP copies nothing (for Java arrays it mallocs
 * and copies every argument in and out on every call: about 40 MB per minibatch at
 * 2 048 -> 3 x 512). Java reads and writes the same memory through direct FloatBuffer views
 * for the elementwise steps (bias, GELU, the loss, bias gradients).
 *
 * <p>Biases, their gradients and GELU's denominators stay on the heap: no BLAS call reads
 * them. The arithmetic is the heap trainer's, operation for operation (same OpenBLAS calls on
 * the same values, same double GELU), so a fit's bits do not change.
 */
final class MlpBatch implements AutoCloseable {
  final int[] sizes;
  final int layers;
  private final int maxRows;
  /** The network being trained; its biases are updated in place, weights via {@link #storeInto}. */
  private final MlpNetwork net;
  private final FloatPointer[] w;
  private final FloatPointer last;
  private final FloatPointer[] gW;
  private final FloatPointer gLast;
  final float[][] gb;
  private final FloatPointer x;
  private final FloatPointer[] pre;
  private final FloatPointer[] act;
  private final double[][] den;
  private final FloatPointer r;
  private final FloatPointer dr;
  private final FloatPointer da;
  private final FloatPointer dp;
  /** Heap copy of w for the loops that read it per element (refreshed per batch). */
  private final float[] lastHeap;

  /** Native buffers for net and minibatches of up to maxBatch comparisons (2 maxBatch rows). */
  MlpBatch(MlpNetwork net, int maxBatch) {
    this.net = net;
    this.sizes = net.sizes;
    this.layers = net.layers();
    this.maxRows = 2 * maxBatch;
    w = new FloatPointer[layers];
    gW = new FloatPointer[layers];
    pre = new FloatPointer[layers];
    act = new FloatPointer[layers];
    den = new double[layers][];
    gb = new float[layers][];
    int widest = 0;
    try {
      for (int l = 0; l < layers; l++) {
        int out = sizes[l + 1];
        w[l] = allocate(net.weights[l].length);
        gW[l] = allocate(net.weights[l].length);
        pre[l] = allocate((long) maxRows * out);
        act[l] = allocate((long) maxRows * out);
        den[l] = new double[maxRows * out];
        gb[l] = new float[out];
        widest = Math.max(widest, out);
      }
      last = allocate(net.last.length);
      gLast = allocate(net.last.length);
      x = allocate((long) maxRows * sizes[0]);
      r = allocate(maxRows);
      dr = allocate(maxRows);
      da = allocate((long) maxRows * widest);
      dp = allocate((long) maxRows * widest);
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
    lastHeap = new float[net.last.length];
    loadFrom(net);
  }

  private static FloatPointer allocate(long n) {
    FloatPointer p = new FloatPointer(n);
    p.zero(); // gemv with beta = 0 reads y; never let it see uninitialised memory
    return p;
  }

  /** Copies net's weight matrices and w into native memory (biases are net's own arrays). */
  void loadFrom(MlpNetwork source) {
    for (int l = 0; l < layers; l++) {
      w[l].asBuffer().put(0, source.weights[l], 0, source.weights[l].length);
      if (source != net) {
        System.arraycopy(source.biases[l], 0, net.biases[l], 0, net.biases[l].length);
      }
    }
    last.asBuffer().put(0, source.last, 0, source.last.length);
  }

  /** Copies the native weight matrices and w into target's arrays. */
  void storeInto(MlpNetwork target) {
    for (int l = 0; l < layers; l++) {
      w[l].asBuffer().get(0, target.weights[l], 0, target.weights[l].length);
      if (target != net) {
        System.arraycopy(net.biases[l], 0, target.biases[l], 0, net.biases[l].length);
      }
    }
    last.asBuffer().get(0, target.last, 0, target.last.length);
  }

  FloatBuffer weights(int l) {
    return w[l].asBuffer();
  }

  FloatBuffer last() {
    return last.asBuffer();
  }

  FloatBuffer weightGradient(int l) {
    return gW[l].asBuffer();
  }

  FloatBuffer lastGradient() {
    return gLast.asBuffer();
  }

  float[] bias(int l) {
    return net.biases[l];
  }

  /**
   * Gradient of the minibatch objective over comparisons idx[from .. from + count) into the
   * gradient buffers; returns the objective's value (see {@link MlpTrainer}). penalty is the
   * coefficient of (1/2) ||w||^2.
   */
  double gradient(ComparisonSet data, int[] idx, int from, int count, double penalty) {
    int d = data.dim();
    int rows = 2 * count;
    if (rows > maxRows) {
      throw new IllegalArgumentException("batch of " + count + " comparisons; buffers hold " + maxRows / 2);
    }
    FloatBuffer xb = x.asBuffer();
    float[] rowsX = data.rows();
    for (int i = 0; i < count; i++) {
      int k = idx[from + i];
      xb.put(i * d, rowsX, data.a()[k] * d, d);
      xb.put((count + i) * d, rowsX, data.b()[k] * d, d);
    }
    forward(rows);
    int h = sizes[layers];
    FloatPointer phi = act[layers - 1];
    last.asBuffer().get(0, lastHeap, 0, h);
    Blas.sgemv(false, rows, h, 1f, phi, h, last, 0f, r);
    FloatBuffer rb = r.asBuffer();
    FloatBuffer drb = dr.asBuffer();
    double objective = 0;
    for (int i = 0; i < count; i++) {
      int k = idx[from + i];
      double s = (double) rb.get(i) - rb.get(count + i);
      double wk = data.weight()[k] / count;
      objective += wk * BradleyTerry.loss(s, data.y()[k]);
      float ds = (float) (wk * BradleyTerry.dLoss(s, data.y()[k]));
      drb.put(i, ds);
      drb.put(count + i, -ds);
    }
    double sq = 0;
    for (int j = 0; j < h; j++) {
      sq += (double) lastHeap[j] * lastHeap[j];
    }
    objective += 0.5 * penalty * sq;
    // Last layer: g_w = phi^T dr + penalty w.
    Blas.sgemv(true, rows, h, 1f, phi, h, dr, 0f, gLast);
    FloatBuffer glb = gLast.asBuffer();
    for (int j = 0; j < h; j++) {
      glb.put(j, glb.get(j) + (float) (penalty * lastHeap[j]));
    }
    // dA_L = dr w^T.
    FloatBuffer dab = da.asBuffer();
    for (int i = 0; i < rows; i++) {
      float g = drb.get(i);
      int off = i * h;
      for (int j = 0; j < h; j++) {
        dab.put(off + j, g * lastHeap[j]);
      }
    }
    FloatBuffer dpb = dp.asBuffer();
    for (int l = layers - 1; l >= 0; l--) {
      int out = sizes[l + 1];
      int in = sizes[l];
      geluBackward(pre[l].asBuffer(), den[l], dab, dpb, rows * out);
      FloatPointer prev = l == 0 ? x : act[l - 1];
      Blas.sgemm(true, false, out, in, rows, 1f, dp, out, prev, in, 0f, gW[l], in);
      float[] g = gb[l];
      java.util.Arrays.fill(g, 0f);
      for (int i = 0; i < rows; i++) {
        int off = i * out;
        for (int j = 0; j < out; j++) {
          g[j] += dpb.get(off + j);
        }
      }
      if (l > 0) {
        Blas.sgemm(false, false, rows, in, out, 1f, dp, out, w[l], in, 0f, da, in);
      }
    }
    return objective;
  }

  /** pre[l] = b_l + W_l a (bias broadcast, then sgemm with beta 1, as PyTorch's addmm), act[l] = GELU. */
  private void forward(int rows) {
    FloatPointer in = x;
    for (int l = 0; l < layers; l++) {
      int out = sizes[l + 1];
      int inDim = sizes[l];
      FloatBuffer p = pre[l].asBuffer();
      float[] bias = net.biases[l];
      for (int i = 0; i < rows; i++) {
        p.put(i * out, bias, 0, out);
      }
      Blas.sgemm(false, true, rows, out, inDim, 1f, in, inDim, w[l], inDim, 1f, pre[l], out);
      gelu(p, act[l].asBuffer(), den[l], rows * out);
      in = act[l];
    }
  }

  /** MlpNetwork's GELU (same doubles) over native buffers, keeping each 1 + e^(-2u). */
  private static void gelu(FloatBuffer p, FloatBuffer a, double[] den, int count) {
    for (int i = 0; i < count; i++) {
      double v = p.get(i);
      double u = MlpNetwork.C * (v + MlpNetwork.K * v * v * v);
      double e = 1.0 + Math.exp(-2.0 * u);
      den[i] = e;
      a.put(i, (float) (v / e));
    }
  }

  /** dp = da * GELU'(p), as {@link MlpNetwork#geluBackward}, over native buffers. */
  private static void geluBackward(FloatBuffer p, double[] den, FloatBuffer da, FloatBuffer dp, int count) {
    for (int i = 0; i < count; i++) {
      double v = p.get(i);
      double s = 1.0 / den[i];
      double du = MlpNetwork.C * (1.0 + 3.0 * MlpNetwork.K * v * v);
      dp.put(i, (float) (da.get(i) * (s + v * s * (1.0 - s) * 2.0 * du)));
    }
  }

  /** Frees the native memory (idempotent; the heap network is untouched). */
  @Override
  public void close() {
    closeAll(w);
    closeAll(gW);
    closeAll(pre);
    closeAll(act);
    closeAll(new FloatPointer[] {last, gLast, x, r, dr, da, dp});
  }

  private static void closeAll(FloatPointer[] ps) {
    if (ps == null) {
      return;
    }
    for (FloatPointer p : ps) {
      if (p != null) {
        p.close();
      }
    }
  }
}
