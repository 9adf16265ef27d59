package dev.activerm.it.load;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Outcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A synthetic pool: Gaussian embeddings, prompts assigned round-robin, labels from a planted linear reward. */
final class LoadData {
  final int rows;
  final int dim;
  final float[][] x;
  final double[] reward;
  final List<String> ids = new ArrayList<>();
  final List<String> prompts = new ArrayList<>();

  LoadData(int rows, int dim, int numPrompts, long seed) {
    this.rows = rows;
    this.dim = dim;
    Random random = new Random(seed);
    x = new float[rows][dim];
    reward = new double[rows];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < dim; j++) {
        x[i][j] = (float) random.nextGaussian();
      }
      reward[i] = x[i][0] - 0.5 * x[i][1];
      ids.add("r" + i);
      prompts.add("q" + i % numPrompts);
    }
  }

  void upload(ActiveRmClient client, String projectId) {
    client.addResponses(projectId, ids, prompts, x);
  }

  /** A labeled comparison of two distinct random rows, the winner by the planted reward. */
  ComparisonInput comparison(Random random, String annotator) {
    int a = random.nextInt(rows);
    int b = (a + 1 + random.nextInt(rows - 1)) % rows;
    Outcome o = reward[a] > reward[b] ? Outcome.A : Outcome.B;
    return new ComparisonInput(ids.get(a), ids.get(b), o, annotator, 1.0);
  }

  /** The label of a given pair by the planted reward. */
  ComparisonInput label(String aId, String bId, String annotator) {
    int a = ids.indexOf(aId);
    int b = ids.indexOf(bId);
    return new ComparisonInput(aId, bId, reward[a] > reward[b] ? Outcome.A : Outcome.B, annotator, 1.0);
  }

  List<ComparisonInput> comparisons(int n, long seed, String annotatorPrefix) {
    Random random = new Random(seed);
    List<ComparisonInput> out = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      out.add(comparison(random, annotatorPrefix + "-" + k));
    }
    return out;
  }
}
