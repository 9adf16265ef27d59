package dev.activerm.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one selection leaves on the cluster (cached Datasets, broadcasts), released together
 * when it ends, also on an error; and the wall time of its steps in the log (the Spark UI is
 * off in tests and benchmarks, so this is the stage breakdown).
 */
final class Staged implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Staged.class);
  private final List<Dataset<?>> cached = new ArrayList<>();
  private final List<Broadcast<?>> broadcasts = new ArrayList<>();

  <T> Dataset<T> cache(Dataset<T> d) {
    cached.add(d.persist());
    return d;
  }

  /** Releases a cached Dataset early, once the next cached one has been computed from it. */
  void uncache(Dataset<?> d) {
    d.unpersist();
    cached.remove(d);
  }

  <T> Broadcast<T> broadcast(SparkSession spark, T value) {
    Broadcast<T> b = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(value);
    broadcasts.add(b);
    return b;
  }

  /** A broadcast owned by staged, or (staged null: a caller inspecting candidates) left to Spark's cleaner. */
  static <T> Broadcast<T> broadcast(SparkSession spark, T value, Staged staged) {
    return staged != null ? staged.broadcast(spark, value)
        : JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(value);
  }

  <T> T time(String step, Supplier<T> f) {
    long t0 = System.nanoTime();
    T out = f.get();
    LOG.info("spark selection step {}: {} ms", step, (System.nanoTime() - t0) / 1_000_000);
    return out;
  }

  @Override
  public void close() {
    cached.forEach(Dataset::unpersist);
    broadcasts.forEach(b -> b.destroy());
    cached.clear();
    broadcasts.clear();
  }
}
