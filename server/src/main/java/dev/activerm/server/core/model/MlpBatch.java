package dev.activerm.server.core.model;

import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.Parallel;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * One Fit's MLP in native memory: the weight matrices and w, their gradients and one
 * minibatch's activations live off-heap, allocated once per Fit, so the sgemm / sgemv calls of
 * forward and backward pass pointers and JavaCPP copies nothing (for Java arrays it mallocs
 * and copies every argument in and out on every call: about 40 MB per minibatch at
 * 2 048 -> 3 x 512). Java reads and writes the same memory through direct FloatBuffer views,
 * a row at a time into heap scratch (bulk copies; per-element direct-buffer access is about
 * twice as slow as a heap loop).
 *
 * <p>The elementwise passes (row gather, bias + GELU with its derivative, GELU backward, the
 * last layer's outer product) run on the compute pool split by rows, and the bias gradients
 * split by columns with each column summed over rows in order: no result depends on the
 * partition, so a fit's bits do not depend on the pool's size (only on OpenBLAS's, as
 * before). Without this, the serial Java passes left one of the two cores idle for a third
 * of each minibatch.
 *
 * <p>Biases, their gradients and GELU's derivatives stay on the heap: no BLAS call reads them.
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
  /** One layer's sgemm output before bias and GELU (consumed at once, shared by the layers). */
  private final FloatPointer pre;
  private final FloatPointer[] act;
  /** GELU'(b_l + W_l a) per layer, from the forward pass. */
  private final float[][] dgelu;
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
    act = new FloatPointer[layers];
    dgelu = new float[layers][];
    gb = new float[layers][];
    int widest = 0;
    try {
      for (int l = 0; l < layers; l++) {
        int out = sizes[l + 1];
        w[l] = allocate(net.weights[l].length);
        gW[l] = allocate(net.weights[l].length);
        act[l] = allocate((long) maxRows * out);
        dgelu[l] = new float[maxRows * out];
        gb[l] = new float[out];
        widest = Math.max(widest, out);
      }
      last = allocate(net.last.length);
      gLast = allocate(net.last.length);
      x = allocate((long) maxRows * sizes[0]);
      r = allocate(maxRows);
      dr = allocate(maxRows);
      pre = allocate((long) maxRows * widest);
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
    byRows(rows, (i0, i1) -> {
      for (int i = i0; i < i1; i++) {
        int k = i < count ? data.a()[idx[from + i]] : data.b()[idx[from + i - count]];
        xb.put(i * d, rowsX, k * d, d);
      }
    });
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
    // Backward. The last layer's dA_L = dr w^T is never stored: its dp is formed directly.
    FloatBuffer dab = da.asBuffer();
    FloatBuffer dpb = dp.asBuffer();
    for (int l = layers - 1; l >= 0; l--) {
      int out = sizes[l + 1];
      int in = sizes[l];
      gradientThroughGelu(l == layers - 1 ? null : dab, drb, dpb, dgelu[l], rows, out, gb[l]);
      FloatPointer prev = l == 0 ? x : act[l - 1];
      Blas.sgemm(true, false, out, in, rows, 1f, dp, out, prev, in, 0f, gW[l], in);
      if (l > 0) {
        Blas.sgemm(false, false, rows, in, out, 1f, dp, out, w[l], in, 0f, da, in);
      }
    }
    return objective;
  }

  /**
   * dp = dA * GELU'(pre) elementwise and the bias gradient g[j] = sum over rows i (in order) of
   * dp[i, j], in one pass. dA is dab, or, when dab is null (the last hidden layer), dr w^T
   * formed on the fly. Split by columns, each column summed over rows in order, so no result
   * depends on the split.
   */
  private void gradientThroughGelu(FloatBuffer dab, FloatBuffer drb, FloatBuffer dpb, float[] gl, int rows, int out,
      float[] g) {
    int parts = Math.min(Parallel.threads(), Math.max(1, out / 64));
    float[] w = lastHeap;
    Parallel.forParts(parts, part -> {
      int j0 = (int) ((long) out * part / parts);
      int j1 = (int) ((long) out * (part + 1) / parts);
      int width = j1 - j0;
      float[] sum = new float[width];
      float[] row = new float[width];
      for (int i = 0; i < rows; i++) {
        int off = i * out + j0;
        if (dab == null) {
          float gi = drb.get(i);
          for (int j = 0; j < width; j++) {
            row[j] = (gi * w[j0 + j]) * gl[off + j];
          }
        } else {
          dab.get(off, row, 0, width);
          for (int j = 0; j < width; j++) {
            row[j] *= gl[off + j];
          }
        }
        for (int j = 0; j < width; j++) {
          sum[j] += row[j];
        }
        dpb.put(off, row, 0, width);
      }
      System.arraycopy(sum, 0, g, j0, width);
    });
  }

  /**
   * act[l] = GELU(b_l + W_l a): sgemm with beta 0 into pre, then the bias add fused into the
   * GELU pass, which also keeps GELU' for the backward pass.
   */
  private void forward(int rows) {
    FloatPointer in = x;
    FloatBuffer p = pre.asBuffer();
    for (int l = 0; l < layers; l++) {
      int out = sizes[l + 1];
      int inDim = sizes[l];
      Blas.sgemm(false, true, rows, out, inDim, 1f, in, inDim, w[l], inDim, 0f, pre, out);
      float[] bias = net.biases[l];
      float[] gl = dgelu[l];
      FloatBuffer a = act[l].asBuffer();
      byRows(rows, (i0, i1) -> {
        float[] row = new float[out];
        float[] res = new float[out];
        Gelu.Scratch scratch = new Gelu.Scratch();
        for (int i = i0; i < i1; i++) {
          p.get(i * out, row, 0, out);
          Gelu.forward(row, 0, bias, res, 0, gl, i * out, out, scratch);
          a.put(i * out, res, 0, out);
        }
      });
      in = act[l];
    }
  }

  /** Runs body over [0, rows) split into one contiguous block per compute thread. */
  private static void byRows(int rows, Parallel.Range body) {
    int parts = Math.min(Parallel.threads(), Math.max(1, rows / 16));
    Parallel.forParts(parts,
        part -> body.run((int) ((long) rows * part / parts), (int) ((long) rows * (part + 1) / parts)));
  }

  /** Frees the native memory (idempotent; the heap network is untouched). */
  @Override
  public void close() {
    closeAll(w);
    closeAll(gW);
    closeAll(act);
    closeAll(new FloatPointer[] {last, gLast, x, r, dr, pre, da, dp});
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
