package dev.activerm.server.core.linalg;

import dev.activerm.server.core.errors.CancelledException;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Benchmark (not a test): F = Phi^T L Phi by {@link LaplacianGram} in double, as the full
 * product and as its lower-triangle panels, against the float32 path it replaced (kept here,
 * {@link #floatPath}), and the full product against its heap-block fill before issue 13's
 * session 10 ({@link LaplacianGramHeapBlocks}), same data, same run. Args: T P threads D...;
 * prints best-of-3 (-Dreps) milliseconds per D (the four paths interleaved in each repetition).
 * benchmarks/select/gram.sh runs it.
 */
public final class LaplacianGramBench {
  private static final int REPS = Integer.getInteger("reps", 3);

  public static void main(String[] args) {
    int t = Integer.parseInt(args[0]);
    int p = Integer.parseInt(args[1]);
    int threads = Integer.parseInt(args[2]);
    Blas.setThreads(threads);
    Parallel.setThreads(threads);
    System.out.printf("T=%d rows, P=%d pairs, %d threads%n", t, p, threads);
    for (int i = 3; i < args.length; i++) {
      int h = Integer.parseInt(args[i]);
      SplittableRandom r = new SplittableRandom(h);
      float[] phi = new float[t * h];
      for (int j = 0; j < phi.length; j++) {
        phi[j] = (float) r.nextGaussian();
      }
      int[] a = new int[p];
      int[] b = new int[p];
      double[] w = new double[p];
      for (int k = 0; k < p; k++) {
        a[k] = r.nextInt(t);
        b[k] = (a[k] + 1 + r.nextInt(t - 1)) % t;
        w[k] = 0.25 * r.nextDouble();
      }
      double bestD = Double.MAX_VALUE;
      double bestL = Double.MAX_VALUE;
      double bestF = Double.MAX_VALUE;
      double bestH = Double.MAX_VALUE;
      double[] fd = new double[h * h];
      double[] fl = new double[h * h];
      double[] ff = new double[h * h];
      double[] fh = new double[h * h];
      for (int rep = 0; rep < REPS; rep++) {
        Arrays.fill(fd, 0);
        long t0 = System.nanoTime();
        LaplacianGram.accumulate(phi, t, h, a, b, w, fd, CancelledException.NEVER, LaplacianGram.BLOCK_DOUBLES, 0);
        bestD = Math.min(bestD, (System.nanoTime() - t0) / 1e6);
        Arrays.fill(fl, 0);
        t0 = System.nanoTime();
        LaplacianGram.accumulate(phi, t, h, a, b, w, fl, CancelledException.NEVER, LaplacianGram.BLOCK_DOUBLES,
            LaplacianGram.PANEL);
        bestL = Math.min(bestL, (System.nanoTime() - t0) / 1e6);
        Arrays.fill(fh, 0);
        t0 = System.nanoTime();
        LaplacianGramHeapBlocks.accumulate(phi, t, h, a, b, w, fh, CancelledException.NEVER, LaplacianGram.BLOCK_DOUBLES,
            0);
        bestH = Math.min(bestH, (System.nanoTime() - t0) / 1e6);
        Arrays.fill(ff, 0);
        t0 = System.nanoTime();
        floatPath(phi, t, h, a, b, w, ff);
        bestF = Math.min(bestF, (System.nanoTime() - t0) / 1e6);
      }
      System.out.printf("D=%5d  double full %8.1f ms   double lower panels %8.1f ms   float %8.1f ms   "
          + "full, heap blocks (before) %8.1f ms   full/heap blocks %.2f (bit-identical: %b)   "
          + "panels/full %.2f   full/float %.2f   max|F_panels - F_full|/max|F| %.1e   max|F_full - F_float|/max|F| %.1e%n",
          h, bestD, bestL, bestF, bestH, bestD / bestH, Arrays.equals(fd, fh), bestL / bestD, bestD / bestF,
          relDiff(fl, fd), relDiff(ff, fd));
    }
  }

  private static double relDiff(double[] x, double[] ref) {
    double diff = 0;
    double max = 0;
    for (int j = 0; j < ref.length; j++) {
      diff = Math.max(diff, Math.abs(x[j] - ref[j]));
      max = Math.max(max, Math.abs(ref[j]));
    }
    return diff / max;
  }

  /** The float32 path LaplacianGram had before issue 12: Y = L Phi rounded to float, then sgemm. */
  static void floatPath(float[] phi, int t, int h, int[] ia, int[] ib, double[] weight, double[] out) {
    int p = ia.length;
    int[] start = new int[t + 1];
    for (int k = 0; k < p; k++) {
      start[ia[k] + 1]++;
      start[ib[k] + 1]++;
    }
    for (int i = 0; i < t; i++) {
      start[i + 1] += start[i];
    }
    int[] fill = Arrays.copyOf(start, t);
    int[] nbr = new int[2 * p];
    float[] wt = new float[2 * p];
    for (int k = 0; k < p; k++) {
      float wk = (float) weight[k];
      nbr[fill[ia[k]]] = ib[k];
      wt[fill[ia[k]]++] = wk;
      nbr[fill[ib[k]]] = ia[k];
      wt[fill[ib[k]]++] = wk;
    }
    float[] y = new float[t * h];
    Parallel.forRange(t, (from, to) -> {
      double[] acc = new double[h];
      for (int i = from; i < to; i++) {
        Arrays.fill(acc, 0);
        double deg = 0;
        for (int e = start[i]; e < start[i + 1]; e++) {
          float we = wt[e];
          deg += we;
          int o = nbr[e] * h;
          for (int j = 0; j < h; j++) {
            acc[j] -= we * phi[o + j];
          }
        }
        int oi = i * h;
        for (int j = 0; j < h; j++) {
          y[oi + j] = (float) (acc[j] + deg * phi[oi + j]);
        }
      }
    });
    float[] f = new float[h * h];
    Blas.sgemm(true, false, h, h, t, 1f, phi, h, y, h, 0f, f, h);
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < h; j++) {
        out[i * h + j] += 0.5 * ((double) f[i * h + j] + f[j * h + i]);
      }
    }
  }
}
