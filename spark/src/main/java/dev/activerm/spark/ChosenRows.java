package dev.activerm.spark;

import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.ResponseRows;
import dev.activerm.client.Types.SelectionState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The register step's rows: the pool rows of the chosen responses the server is not known to
 * hold, for RegisterSelectionRequest.new_responses. The server is known to hold every id of
 * the export's labeled and pending pairs; every other chosen id's row is sent (at most 2B),
 * and the server keeps a row it already holds only if it is bit-identical (so the protocol
 * needs no id list from the server, and a pool copy that disagrees with the server is caught).
 * One pass over the pool: a filter on the broadcast set of at most 2B ids, collected to the
 * driver. Kept apart from the scoring pipeline so the two change independently.
 */
final class ChosenRows {
  private ChosenRows() {}

  /** The rows of the chosen ids not in st's labeled or pending pairs, in order of first appearance in pairs. */
  static ResponseRows gather(SparkSession spark, Dataset<Row> pool, List<Pair> pairs, SelectionState st) {
    Set<String> held = new HashSet<>();
    st.labeledPairs().forEach(p -> {
      held.add(p.aId());
      held.add(p.bId());
    });
    st.pendingPairs().forEach(p -> {
      held.add(p.aId());
      held.add(p.bId());
    });
    LinkedHashSet<String> wanted = new LinkedHashSet<>();
    for (Pair p : pairs) {
      for (String id : List.of(p.aId(), p.bId())) {
        if (!held.contains(id)) {
          wanted.add(id);
        }
      }
    }
    if (wanted.isEmpty()) {
      return ResponseRows.NONE;
    }
    Broadcast<Set<String>> ids = JavaSparkContext.fromSparkContext(spark.sparkContext())
        .broadcast(new HashSet<>(wanted));
    List<Row> found;
    try {
      FilterFunction<Row> chosen = r -> ids.value().contains(r.getString(0));
      found = pool.filter(chosen).collectAsList();
    } finally {
      ids.destroy();
    }
    return rows(wanted, found, st.embeddingDim());
  }

  /** The found rows in the order wanted, each id exactly once with dim finite values. */
  static ResponseRows rows(LinkedHashSet<String> wanted, List<Row> found, int dim) {
    Map<String, Row> byId = new HashMap<>();
    for (Row r : found) {
      if (byId.put(r.getString(0), r) != null) {
        throw new IllegalArgumentException("the pool holds response '" + r.getString(0)
            + "' more than once; response ids must be unique in a pool");
      }
    }
    List<String> ids = new ArrayList<>(wanted);
    List<String> prompts = new ArrayList<>(ids.size());
    float[] values = new float[Math.multiplyExact(ids.size(), dim)];
    for (int i = 0; i < ids.size(); i++) {
      Row r = byId.get(ids.get(i));
      if (r == null) {
        throw new IllegalStateException("chosen response '" + ids.get(i) + "' is not in the pool");
      }
      prompts.add(r.getString(1));
      List<Object> emb = r.getList(2);
      if (emb.size() != dim) {
        throw new IllegalArgumentException("embedding of response '" + ids.get(i) + "' has " + emb.size()
            + " values; the project's embedding_dim is " + dim);
      }
      for (int j = 0; j < dim; j++) {
        values[i * dim + j] = (Float) emb.get(j);
      }
    }
    return new ResponseRows(ids, prompts, values, dim);
  }
}
