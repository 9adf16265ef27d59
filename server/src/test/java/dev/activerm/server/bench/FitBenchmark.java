package dev.activerm.server.bench;

import dev.activerm.server.core.linalg.Blas;
import dev.activerm.server.core.linalg.RowKernels;
import dev.activerm.server.core.model.ComparisonSet;
import dev.activerm.server.core.model.LinearBtFitter;
import dev.activerm.server.core.model.LinearFitOptions;
import dev.activerm.server.core.model.MlpFitOptions;
import dev.activerm.server.core.model.MlpTrainer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: the Fit benchmark (benchmarks/fit/run.sh). Generates seeded BT data, writes it
 * to activerm.bench.dir for the Python side, times the LINEAR and MLP fits and writes
 * java.txt. Runs only with -Dactiverm.bench.dir=...
 */
@EnabledIfSystemProperty(named = "activerm.bench.dir", matches = ".+")
class FitBenchmark {

  @Test
  void run() throws IOException {
    Path dir = Path.of(System.getProperty("activerm.bench.dir"));
    Files.createDirectories(dir);
    int threads = Integer.getInteger("activerm.bench.threads", 2);
    Blas.setThreads(threads);
    // The Java compute pool (the MLP's elementwise passes) at the same count as OpenBLAS and
    // the Python side's threads, as the server's --compute-threads sets both.
    dev.activerm.server.core.linalg.Parallel.setThreads(threads);
    StringBuilder out = new StringBuilder();

    // -Dactiverm.bench.only=mlp skips LINEAR (for MLP-only runs, e.g. profiles).
    boolean linear = !"mlp".equals(System.getProperty("activerm.bench.only"));
    int mlpEpochs = Integer.getInteger("activerm.bench.mlp.epochs", 10);
    if (linear) {
      linear(dir, out);
    }

    // MLP: 20 000 comparisons over 10 000 responses, D = 2048, 3 x 512, 10 epochs, batch 256.
    ComparisonSet mlp = generate(10_000, 2048, 20_000, 1.5, 21, true);
    write(dir, "mlp", mlp);
    MlpTrainer.fit(generate(500, 2048, 1_000, 1.5, 22, true), new int[] {512, 512, 512}, 1.0,
        new MlpFitOptions(1e-3, 1, 256, 0, 0, 3), 1, null); // JIT warm-up
    // -Dactiverm.bench.start.at=<Unix seconds> (and BENCH_START_AT on the Python side) holds the
    // timed fit until then, so that an "at once" run starts both fits together.
    waitUntil(System.getProperty("activerm.bench.start.at"));
    // Process CPU time as well as wall: under load the wall time mostly measures the other jobs.
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long c0 = os.getProcessCpuTime();
    long t0 = System.nanoTime();
    MlpTrainer.Result r = MlpTrainer.fit(mlp, new int[] {512, 512, 512}, 1.0,
        new MlpFitOptions(1e-3, mlpEpochs, 256, 0, 0, 3), 1, null);
    double secs = (System.nanoTime() - t0) / 1e9;
    double cpu = (os.getProcessCpuTime() - c0) / 1e9;
    // The model's bytes, hashed: equal hashes across code versions mean a bit-identical fit.
    byte[] model = dev.activerm.server.core.model.ModelCodec.encode(
        new dev.activerm.server.core.model.MlpRewardModel(1, r.network()));
    // The objective the fit minimises, at its result: the train loss plus the prior (lambda / 2N)
    // (||w||^2 + sum_l ||W_l - W_l^(0)||^2), W^(0) the seed's cold-start draw as MlpTrainer takes it
    // (N = 20 000, no held-out part). The result and the anchor go to the Python half, which
    // evaluates its own objective at them (bench_python.py, "java weights" line).
    dev.activerm.server.core.model.MlpNetwork anchor =
        dev.activerm.server.core.model.MlpNetwork.init(2048, new int[] {512, 512, 512}, new SplittableRandom(1).nextLong());
    double prior = dev.activerm.server.core.model.MlpTensors.priorValue(r.network(), anchor, 1.0 / mlp.size());
    dev.activerm.server.core.model.MlpTensors.write(dir, "mlp_java_final", r.network());
    dev.activerm.server.core.model.MlpTensors.write(dir, "mlp_java_anchor", anchor);
    out.append(String.format(Locale.ROOT, "mlp seconds=%.3f cpu_seconds=%.3f epochs=%d train_loss=%.5f train_acc=%.4f model_hash=%08x%n",
        secs, cpu, r.report().iterations(), r.report().loss(), r.report().trainAccuracy(), java.util.Arrays.hashCode(model)));
    out.append(String.format(Locale.ROOT, "mlp objective=%.8f train_loss=%.8f prior=%.8f%n",
        r.report().loss() + prior, r.report().loss(), prior));
    out.append("threads=").append(threads).append(" compute_pool=")
        .append(dev.activerm.server.core.linalg.Parallel.threads()).append('\n');
    out.append("openblas=").append(org.bytedeco.openblas.global.openblas_nolapack.OPENBLAS_VERSION.trim())
        .append(" built_core=").append(org.bytedeco.openblas.global.openblas_nolapack.OPENBLAS_CHAR_CORENAME)
        .append(" OPENBLAS_CORETYPE=").append(System.getenv("OPENBLAS_CORETYPE")).append('\n');
    Files.writeString(dir.resolve("java.txt"), out.toString());
    System.out.print(out);
  }

  private static void waitUntil(String unixSeconds) {
    if (unixSeconds == null) {
      return;
    }
    long wait = (long) (Double.parseDouble(unixSeconds) * 1000) - System.currentTimeMillis();
    if (wait > 0) {
      try {
        Thread.sleep(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void linear(Path dir, StringBuilder out) throws IOException {
    // LINEAR: 100 000 comparisons over 20 000 responses, D = 1024.
    ComparisonSet lin = generate(20_000, 1024, 100_000, 1.5, 11, false);
    write(dir, "linear", lin);
    double[] tols = {0.1, 1e-3};
    new LinearBtFitter(generate(2_000, 1024, 5_000, 1.5, 12, false), 1.0).fit(LinearFitOptions.defaults(), null); // JIT warm-up
    for (double tol : tols) {
      long t0 = System.nanoTime();
      LinearBtFitter.Result r = new LinearBtFitter(lin, 1.0).fit(new LinearFitOptions(100, tol), null);
      double secs = (System.nanoTime() - t0) / 1e9;
      out.append(String.format(Locale.ROOT, "linear tol_sum=%g seconds=%.3f iterations=%d grad_inf=%.3e loss=%.10f%n",
          tol, secs, r.report().iterations(), r.report().gradientNorm(), r.report().loss()));
      writeDoubles(dir.resolve("linear_w_tol" + tol + ".f64"), r.weights());
    }
  }

  /** Gaussian rows, planted w with ||w|| = norm, labels ~ Bernoulli(sigma(w^T (x_a - x_b))) (nonlinear: tanh of it). */
  static ComparisonSet generate(int rows, int dim, int n, double norm, long seed, boolean nonlinear) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] x = new float[rows * dim];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) gaussian(random);
    }
    double[] w = new double[dim];
    double sq = 0;
    for (int j = 0; j < dim; j++) {
      w[j] = gaussian(random);
      sq += w[j] * w[j];
    }
    for (int j = 0; j < dim; j++) {
      w[j] *= norm / Math.sqrt(sq);
    }
    double[] r = RowKernels.rowDots(x, dim, w);
    if (nonlinear) {
      for (int i = 0; i < rows; i++) {
        r[i] = 2 * Math.tanh(r[i]) + 0.5 * r[i] * r[i];
      }
    }
    int[] a = new int[n];
    int[] b = new int[n];
    double[] y = new double[n];
    double[] wt = new double[n];
    for (int k = 0; k < n; k++) {
      a[k] = random.nextInt(rows);
      do {
        b[k] = random.nextInt(rows);
      } while (b[k] == a[k]);
      double p = 1 / (1 + Math.exp(-(r[a[k]] - r[b[k]])));
      y[k] = random.nextDouble() < p ? 1 : 0;
      wt[k] = 1;
    }
    return new ComparisonSet(x, dim, a, b, y, wt);
  }

  private static double gaussian(SplittableRandom random) {
    double u = 1 - random.nextDouble();
    double v = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** name_x.f32 (rows x dim), name_a.i32, name_b.i32, name_y.u8, name_shape.txt; little-endian. */
  private static void write(Path dir, String name, ComparisonSet d) throws IOException {
    Files.writeString(dir.resolve(name + "_shape.txt"), d.numRows() + " " + d.dim() + " " + d.size() + "\n");
    ByteBuffer buf = ByteBuffer.allocate(d.rows().length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(d.rows());
    Files.write(dir.resolve(name + "_x.f32"), buf.array());
    writeInts(dir.resolve(name + "_a.i32"), d.a());
    writeInts(dir.resolve(name + "_b.i32"), d.b());
    byte[] y = new byte[d.size()];
    for (int k = 0; k < y.length; k++) {
      y[k] = (byte) d.y()[k];
    }
    Files.write(dir.resolve(name + "_y.u8"), y);
  }

  private static void writeInts(Path p, int[] v) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asIntBuffer().put(v);
    Files.write(p, buf.array());
  }

  private static void writeDoubles(Path p, double[] v) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    buf.asDoubleBuffer().put(v);
    Files.write(p, buf.array());
  }
}
