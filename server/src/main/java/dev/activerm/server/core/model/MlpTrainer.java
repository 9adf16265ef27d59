package dev.activerm.server.core.model;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * Trains the MLP head with Adam on minibatches of comparisons. The minibatch objective is
 *
 * <pre>(1/B) sum_{k in batch} weight_k BCE(sigma(r(x_a) - r(x_b)), y_k)
 *     + (lambda / 2N) (||w||^2 + sum_l ||W_l - W_l^(0)||^2)</pre>
 *
 * (N training comparisons), i.e. an unbiased estimate of the full penalised objective / N: the
 * prior N(0, I / lambda) on the last layer w and N(W_l^(0), I / lambda) on each hidden weight
 * matrix, W^(0) the network a cold start from this seed begins at ({@link MlpAnchorPrior} says
 * why anchored there), biases free. The objective does not depend on a warm start: a warm
 * start only begins the optimisation elsewhere. Weight decay (mlp.weight_decay, 0 by default)
 * is decoupled (AdamW) on the weight matrices and w. Both sides of each pair
 * run through one sgemm per layer (2B rows). Deterministic under a seed: the initialisation,
 * the held-out split and each epoch's shuffle come from one SplittableRandom, and every
 * reduction runs in a fixed order (bit-identical for a given OpenBLAS thread count).
 * An explicit epoch count runs exactly that many epochs (or fewer, by patience); epochs 0 runs
 * until {@link MlpStopRule} holds or its step cap. The rule is fed either way, so the report's
 * converged means the same for both.
 */
public final class MlpTrainer {
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
    MlpNetwork init = MlpNetwork.init(data.dim(), hidden, random.nextLong());
    MlpNetwork net = start != null ? start.copy() : init;
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
    double penalty = lambda / nTrain;
    MlpAnchorPrior prior = new MlpAnchorPrior(init, penalty);
    int[] perm = identity(nTrain);

    double bestVal = Double.POSITIVE_INFINITY;
    MlpNetwork best = null;
    int sinceBest = 0;
    boolean stoppedEarly = false;
    int epochs = 0;
    int stepsPerEpoch = (nTrain + batch - 1) / batch;
    MlpStopRule rule = new MlpStopRule(stepsPerEpoch);
    int maxEpochs = options.untilConverged() ? MlpStopRule.maxEpochs(stepsPerEpoch) : options.epochs();
    String ofEpochs = (options.untilConverged() ? " of at most " : " of ") + maxEpochs;
    // Weights, gradients and activations live in native memory for the whole fit; net's
    // weight arrays are brought up to date at each epoch's end (the validation loss and the
    // result read them), its biases are trained in place.
    try (MlpBatch ws = new MlpBatch(net, batch)) {
      MlpAdam adam = new MlpAdam(ws);
      for (int epoch = 0; epoch < maxEpochs; epoch++) {
        shuffle(perm, random);
        double epochObjective = 0;
        for (int from = 0; from < nTrain; from += batch) {
          if (cancelled.getAsBoolean()) {
            throw CancelledException.fit("MLP epoch " + (epoch + 1) + ofEpochs);
          }
          int count = Math.min(batch, nTrain - from);
          // The step adds the prior's gradient to the hidden layers' as it updates them, and
          // returns the prior's value at the weights before the step: the objective is still
          // the one of the weights the gradient was taken at. A non-finite objective throws
          // after that step, whose weights are then never stored.
          double loss = ws.gradient(train, perm, from, count, penalty);
          double objective = loss + adam.step(ws, options.learningRate(), options.weightDecay(), prior);
          if (!Double.isFinite(objective)) {
            throw diverged(epoch + 1, options, "the loss");
          }
          epochObjective += objective * count / nTrain;
        }
        epochs++;
        rule.epochEnded(epochObjective);
        ws.storeInto(net);
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
            stoppedEarly = true;
            break;
          }
        }
        if (options.untilConverged() && rule.held()) {
          break;
        }
      }
    }
    // Converged: a stop criterion held where training ended (the objective's plateau, or the
    // held-out loss's patience); not when the cap or an explicit epoch count ended it first.
    boolean converged = stoppedEarly || rule.held();
    if (best != null) {
      net = best;
    }
    double[] rowRewards = net.rewards(data.rows(), data.numRows());
    double[] tr = train.lossAndAccuracy(rowRewards);
    if (!Double.isFinite(tr[0])) {
      throw diverged(epochs, options, "the loss");
    }
    double valAcc = val == null ? 0.0 : val.lossAndAccuracy(net.rewards(val.rows(), val.numRows()))[1];
    return new Result(net, new FitReport(tr[0], epochs, 0.0, converged, tr[1], valAcc, 0L, nTrain));
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
