package dev.activerm.spark;

import dev.activerm.client.Types.Pair;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.selection.CandidateGenerator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The candidate pairs with both embeddings, (k, a_id, b_id, a_x, b_x), from one of three
 * sources, always without labeled, pending, retired and repeated pairs (as SelectBatch):
 * <ul>
 *   <li>EXPLICIT: the caller's pairs joined with the pool (k = the pair's index, the server's
 *       tie order);
 *   <li>WITHIN_PROMPT: the pool grouped by prompt_id, then every pair of a group, a seeded
 *       subsample when a prompt has more than the cap;
 *   <li>CROSS_PROMPT: the pool hashed (with the seed) into buckets, then pairs sampled inside
 *       each bucket: every pair of distinct responses lands in one bucket with the same
 *       probability, and no stage ever enumerates R^2.
 * </ul>
 * Inside a group the server's own {@link CandidateGenerator} draws the pairs over local row
 * indices (ids sorted), so a prompt's candidates are exactly the server's WITHIN_PROMPT pairs
 * when the cap is not hit. Generated pairs carry their embeddings from the group: no join.
 */
final class Candidates {
  private Candidates() {}

  static final StructType JOINED = new StructType()
      .add("k", DataTypes.LongType, false)
      .add("a_id", DataTypes.StringType, false)
      .add("b_id", DataTypes.StringType, false)
      .add("a_x", DataTypes.createArrayType(DataTypes.FloatType), true)
      .add("b_x", DataTypes.createArrayType(DataTypes.FloatType), true);

  private static final StructType PAIRS = new StructType()
      .add("k", DataTypes.LongType, false)
      .add("a_id", DataTypes.StringType, false)
      .add("b_id", DataTypes.StringType, false);

  /** An unordered pair of ids as one string (ids hold no NUL: the server's id rules). */
  static String canon(String a, String b) {
    return a.compareTo(b) < 0 ? a + "\u0000" + b : b + "\u0000" + a;
  }

  static Dataset<Row> explicit(SparkSession spark, Dataset<Row> pool, List<Pair> pairs, Set<String> excluded,
      Set<String> retired) {
    List<Row> rows = new ArrayList<>(pairs.size());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < pairs.size(); i++) {
      Pair p = pairs.get(i);
      if (p.aId().equals(p.bId())) {
        throw new IllegalArgumentException("explicit pair " + i + " compares '" + p.aId() + "' with itself");
      }
      String key = canon(p.aId(), p.bId());
      if (retired.contains(p.aId()) || retired.contains(p.bId()) || excluded.contains(key) || !seen.add(key)) {
        continue; // as SelectBatch: labeled, pending, retired and repeated pairs are left out
      }
      rows.add(RowFactory.create((long) i, p.aId(), p.bId()));
    }
    return join(spark.createDataFrame(rows, PAIRS), pool);
  }

  /** Candidates joined with both embeddings; a pair whose id is missing from the pool fails. */
  private static Dataset<Row> join(Dataset<Row> cand, Dataset<Row> pool) {
    Dataset<Row> xa = pool.selectExpr("response_id AS a_id", "embedding AS a_x");
    Dataset<Row> xb = pool.selectExpr("response_id AS b_id", "embedding AS b_x");
    Dataset<Row> j = cand.join(xa, "a_id", "left").join(xb, "b_id", "left")
        .selectExpr("k", "a_id", "b_id", "a_x", "b_x");
    List<Row> missing = j.filter("a_x IS NULL OR b_x IS NULL").select("a_id", "b_id").limit(5).collectAsList();
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("candidate pairs name responses that are not in the pool, e.g. " + missing
          + "; use response_id values of the Parquet pool");
    }
    return j;
  }

  /** Every pair of responses sharing a prompt_id, at most capPerPrompt per prompt (0: no cap). */
  static Dataset<Row> withinPrompt(Dataset<Row> pool, long capPerPrompt, long seed, Set<String> excluded,
      Set<String> retired) {
    Dataset<Row> live = live(pool, retired);
    long cap = capPerPrompt > 0 ? capPerPrompt : Integer.MAX_VALUE;
    FlatMapGroupsFunction<String, Row, Row> pairs = (prompt, it) -> group(it, cap, seed ^ hash64(prompt), excluded);
    return live.groupByKey((MapFunction<Row, String>) r -> r.getString(1), Encoders.STRING())
        .flatMapGroups(pairs, Encoders.row(JOINED));
  }

  /**
   * About cap pairs of distinct responses: the pool is split into buckets by a seeded hash of
   * response_id, and each bucket draws its share of the cap among its own responses.
   */
  static Dataset<Row> crossPrompt(Dataset<Row> pool, long cap, int buckets, long seed, Set<String> excluded,
      Set<String> retired) {
    Dataset<Row> live = live(pool, retired);
    FlatMapGroupsFunction<Integer, Row, Row> pairs = (bucket, it) -> {
      long share = cap / buckets + (bucket < cap % buckets ? 1 : 0);
      return group(it, share, seed * 0x9E3779B97F4A7C15L + bucket, excluded);
    };
    return live.groupByKey((MapFunction<Row, Integer>) r -> Math.floorMod(hash64(r.getString(0)) ^ seed, buckets),
            Encoders.INT())
        .flatMapGroups(pairs, Encoders.row(JOINED));
  }

  private static Dataset<Row> live(Dataset<Row> pool, Set<String> retired) {
    if (retired.isEmpty()) {
      return pool;
    }
    Set<String> r = Set.copyOf(retired);
    return pool.filter((org.apache.spark.api.java.function.FilterFunction<Row>) row -> !r.contains(row.getString(0)));
  }

  /**
   * The server's candidate draw over one group's responses as local rows (sorted by id, so a
   * seed gives the same pairs whatever order the shuffle delivered them in).
   */
  private static Iterator<Row> group(Iterator<Row> it, long cap, long seed, Set<String> excluded) {
    List<Row> rows = new ArrayList<>();
    it.forEachRemaining(rows::add);
    rows.sort(Comparator.comparing(r -> r.getString(0)));
    for (int i = 1; i < rows.size(); i++) {
      if (rows.get(i).getString(0).equals(rows.get(i - 1).getString(0))) {
        throw new IllegalArgumentException("pool lists response_id '" + rows.get(i).getString(0)
            + "' twice; each response must appear once");
      }
    }
    int m = rows.size();
    if (m < 2 || cap < 1) {
      return List.<Row>of().iterator();
    }
    String[] ids = new String[m];
    for (int i = 0; i < m; i++) {
      ids[i] = rows.get(i).getString(0);
    }
    // numExcluded over-counts (exclusions of other groups): it only picks enumerate vs sample.
    PairList p = CandidateGenerator.crossPrompt(m, cap,
        key -> excluded.contains(canon(ids[PairKeys.lo(key)], ids[PairKeys.hi(key)])), excluded.size(), seed,
        () -> false);
    List<Row> out = new ArrayList<>(p.size());
    for (int i = 0; i < p.size(); i++) {
      Row a = rows.get(p.a()[i]);
      Row b = rows.get(p.b()[i]);
      out.add(RowFactory.create(hash64(canon(ids[p.a()[i]], ids[p.b()[i]])) & Long.MAX_VALUE, a.getString(0),
          b.getString(0), a.get(2), b.get(2)));
    }
    return out.iterator();
  }

  /** FNV-1a 64 over UTF-8: a stable hash (String.hashCode is only 32 bits). */
  static long hash64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= c & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }
}
