package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.linalg.Blas;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * Trains the MLP head with Adam on minibatches of comparisons. The minibatch objective is
 *
 * <pre>(1/B) sum_{k in batch} weight_k BCE(sigma(r(x_a) - r(x_b)), y_k) + (lambda / 2N) ||w||^2</pre>
 *
 * (N training comparisons), i.e. an unbiased estimate of the full penalised objective / N;
 * weight decay is decoupled (AdamW) on the weight matrices and w. Both sides of each pair
 * run through one sgemm per layer (2B rows). Deterministic under a seed: the initialisation,
 * the held-out split and each epoch's shuffle come from one SplittableRandom, and every
 * reduction runs in a fixed order (bit-identical for a given OpenBLAS thread count).
 */
public final class MlpTrainer {
  private static final double BETA1 = 0.9;
  private static final double BETA2 = 0.999;
  private static final double EPS = 1e-8;

  private MlpTrainer() {}

  public record Result(MlpNetwork network, FitReport report) {}

  /**
   * Trains on data. start (may be null) is copied as the starting point (warm start),
   * otherwise the network is initialised from the seed.
   */
  public static Result fit(
      ComparisonSet data, int[] hidden, double lambda, MlpFitOptions options, long seed, MlpNetwork start) {
    return fit(data, hidden, lambda, options, seed, start, () -> false);
  }

  /**
   * As above; cancelled is polled before every minibatch and, when it turns true, the fit
   * throws {@link CancelledException} (the polls do not touch the random stream, so
   * results stay bit-identical).
   */
  public static Result fit(ComparisonSet data, int[] hidden, double lambda, MlpFitOptions options, long seed,
      MlpNetwork start, BooleanSupplier cancelled) {
    SplittableRandom random = new SplittableRandom(seed);
    MlpNetwork net = start != null ? start.copy() : MlpNetwork.init(data.dim(), hidden, random.nextLong());
    if (start != null) {
      random.nextLong(); // same stream position as a cold start
    }
    int n = data.size();
    int[] order = identity(n);
    int numVal = 0;
    if (options.validationFraction() > 0) {
      shuffle(order, random);
      numVal = (int) Math.floor(options.validationFraction() * n);
      numVal = Math.min(Math.max(numVal, 1), n - 1);
    }
    ComparisonSet val = numVal > 0 ? data.subset(Arrays.copyOfRange(order, 0, numVal)).compact() : null;
    ComparisonSet train = numVal > 0 ? data.subset(Arrays.copyOfRange(order, numVal, n)) : data;
    int nTrain = train.size();
    int batch = Math.min(options.batchSize(), nTrain);
    Workspace ws = new Workspace(net, batch);
    Adam adam = new Adam(net);
    double penalty = lambda / nTrain;
    int[] perm = identity(nTrain);

    double bestVal = Double.POSITIVE_INFINITY;
    MlpNetwork best = null;
    int sinceBest = 0;
    int epochs = 0;
    for (int epoch = 0; epoch < options.epochs(); epoch++) {
      shuffle(perm, random);
      for (int from = 0; from < nTrain; from += batch) {
        if (cancelled.getAsBoolean()) {
          throw CancelledException.fit("MLP epoch " + (epoch + 1) + " of " + options.epochs());
        }
        int count = Math.min(batch, nTrain - from);
        double objective = batchGradient(net, train, perm, from, count, penalty, ws);
        if (!Double.isFinite(objective)) {
          throw diverged(epoch + 1, options, "the loss");
        }
        adam.step(net, ws, options.learningRate(), options.weightDecay());
      }
      epochs++;
      if (!net.isFinite()) {
        throw diverged(epoch + 1, options, "the weights");
      }
      if (val != null) {
        double vl = val.lossAndAccuracy(net.rewards(val.rows(), val.numRows()))[0];
        if (vl < bestVal) {
          bestVal = vl;
          best = net.copy();
          sinceBest = 0;
        } else if (++sinceBest >= options.patience()) {
          break;
        }
      }
    }
    if (best != null) {
      net = best;
    }
    double[] rowRewards = net.rewards(data.rows(), data.numRows());
    double[] tr = train.lossAndAccuracy(rowRewards);
    if (!Double.isFinite(tr[0])) {
      throw diverged(epochs, options, "the loss");
    }
    double valAcc = val == null ? 0.0 : val.lossAndAccuracy(net.rewards(val.rows(), val.numRows()))[1];
    return new Result(net, new FitReport(tr[0], epochs, 0.0, true, tr[1], valAcc, 0L, nTrain));
  }

  /**
   * A diverged run (non-finite loss or weights: too large a step for the data's scale) is the
   * caller's to fix, and nothing of it may be stored.
   */
  private static ActiveRmException diverged(int epoch, MlpFitOptions options, String what) {
    return ActiveRmException.failedPrecondition("Fit diverged at epoch " + epoch + ": " + what
        + " became non-finite with mlp.learning_rate " + options.learningRate()
        + "; lower mlp.learning_rate (the default is " + MlpFitOptions.DEFAULT_LEARNING_RATE
        + "), or rescale the embeddings to O(1) values. Nothing was stored");
  }

  /**
   * Gradient of the minibatch objective over comparisons idx[from .. from + count) into ws's
   * gradient arrays; returns the objective's value. penalty is the coefficient of
   * (1/2) ||w||^2.
   */
  static double batchGradient(MlpNetwork net, ComparisonSet data, int[] idx, int from, int count, double penalty, Workspace ws) {
    int d = data.dim();
    int rows = 2 * count;
    float[] x = data.rows();
    for (int i = 0; i < count; i++) {
      int k = idx[from + i];
      System.arraycopy(x, data.a()[k] * d, ws.x, i * d, d);
      System.arraycopy(x, data.b()[k] * d, ws.x, (count + i) * d, d);
    }
    net.forward(ws.x, rows, ws.pre, ws.act, ws.den);
    int layers = net.layers();
    int h = net.featureDim();
    float[] phi = ws.act[layers - 1];
    Blas.sgemv(false, rows, h, 1f, phi, h, net.last, 0f, ws.r);
    double objective = 0;
    for (int i = 0; i < count; i++) {
      int k = idx[from + i];
      double s = (double) ws.r[i] - ws.r[count + i];
      double wk = data.weight()[k] / count;
      objective += wk * BradleyTerry.loss(s, data.y()[k]);
      float ds = (float) (wk * BradleyTerry.dLoss(s, data.y()[k]));
      ws.dr[i] = ds;
      ws.dr[count + i] = -ds;
    }
    double sq = 0;
    for (int j = 0; j < h; j++) {
      sq += (double) net.last[j] * net.last[j];
    }
    objective += 0.5 * penalty * sq;
    // Last layer: g_w = phi^T dr + penalty w.
    Blas.sgemv(true, rows, h, 1f, phi, h, ws.dr, 0f, ws.gLast);
    for (int j = 0; j < h; j++) {
      ws.gLast[j] += (float) (penalty * net.last[j]);
    }
    // dA_L = dr w^T.
    float[] da = ws.da;
    for (int i = 0; i < rows; i++) {
      float g = ws.dr[i];
      int off = i * h;
      for (int j = 0; j < h; j++) {
        da[off + j] = g * net.last[j];
      }
    }
    for (int l = layers - 1; l >= 0; l--) {
      int out = net.sizes[l + 1];
      int in = net.sizes[l];
      MlpNetwork.geluBackward(ws.pre[l], ws.den[l], da, ws.dp, rows * out);
      float[] prev = l == 0 ? ws.x : ws.act[l - 1];
      Blas.sgemm(true, false, out, in, rows, 1f, ws.dp, out, prev, in, 0f, ws.gW[l], in);
      float[] gb = ws.gb[l];
      Arrays.fill(gb, 0f);
      for (int i = 0; i < rows; i++) {
        int off = i * out;
        for (int j = 0; j < out; j++) {
          gb[j] += ws.dp[off + j];
        }
      }
      if (l > 0) {
        Blas.sgemm(false, false, rows, in, out, 1f, ws.dp, out, net.weights[l], in, 0f, da, in);
      }
    }
    return objective;
  }

  /** Buffers for one minibatch of up to maxBatch comparisons (2 maxBatch rows). */
  static final class Workspace {
    final float[] x;
    final float[][] pre;
    final float[][] act;
    final double[][] den;
    final float[] r;
    final float[] dr;
    final float[] da;
    final float[] dp;
    final float[][] gW;
    final float[][] gb;
    final float[] gLast;

    Workspace(MlpNetwork net, int maxBatch) {
      int rows = 2 * maxBatch;
      int layers = net.layers();
      x = new float[rows * net.inputDim()];
      pre = new float[layers][];
      act = new float[layers][];
      den = new double[layers][];
      gW = new float[layers][];
      gb = new float[layers][];
      int widest = 0;
      for (int l = 0; l < layers; l++) {
        int out = net.sizes[l + 1];
        pre[l] = new float[rows * out];
        act[l] = new float[rows * out];
        den[l] = new double[rows * out];
        gW[l] = new float[net.weights[l].length];
        gb[l] = new float[out];
        widest = Math.max(widest, out);
      }
      r = new float[rows];
      dr = new float[rows];
      da = new float[rows * widest];
      dp = new float[rows * widest];
      gLast = new float[net.featureDim()];
    }
  }

  /** Adam moments for every parameter tensor, with AdamW's decoupled decay on weights. */
  private static final class Adam {
    private final float[][] m;
    private final float[][] v;
    private int t;

    Adam(MlpNetwork net) {
      int layers = net.layers();
      m = new float[2 * layers + 1][];
      v = new float[2 * layers + 1][];
      for (int l = 0; l < layers; l++) {
        m[2 * l] = new float[net.weights[l].length];
        v[2 * l] = new float[net.weights[l].length];
        m[2 * l + 1] = new float[net.biases[l].length];
        v[2 * l + 1] = new float[net.biases[l].length];
      }
      m[2 * layers] = new float[net.last.length];
      v[2 * layers] = new float[net.last.length];
    }

    void step(MlpNetwork net, Workspace ws, double lr, double weightDecay) {
      t++;
      double bc1 = 1 - Math.pow(BETA1, t);
      double bc2Sqrt = Math.sqrt(1 - Math.pow(BETA2, t));
      double stepSize = lr / bc1;
      int layers = net.layers();
      for (int l = 0; l < layers; l++) {
        update(net.weights[l], ws.gW[l], m[2 * l], v[2 * l], stepSize, bc2Sqrt, lr * weightDecay);
        update(net.biases[l], ws.gb[l], m[2 * l + 1], v[2 * l + 1], stepSize, bc2Sqrt, 0.0);
      }
      update(net.last, ws.gLast, m[2 * layers], v[2 * layers], stepSize, bc2Sqrt, lr * weightDecay);
    }

    private static void update(float[] p, float[] g, float[] m, float[] v, double stepSize, double bc2Sqrt, double decay) {
      float keep = (float) (1.0 - decay);
      float b1 = (float) BETA1;
      float b2 = (float) BETA2;
      for (int i = 0; i < p.length; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        double denom = Math.sqrt(v[i]) / bc2Sqrt + EPS;
        p[i] = (float) (p[i] * keep - stepSize * m[i] / denom);
      }
    }
  }

  private static int[] identity(int n) {
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = i;
    }
    return out;
  }

  private static void shuffle(int[] a, SplittableRandom random) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
  }
}
