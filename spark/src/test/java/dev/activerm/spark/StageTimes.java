package dev.activerm.spark;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.StageInfo;

/**
 * The stage breakdown of a benchmark run with the UI off: every completed stage's name (its
 * call site), wall time, summed task time and shuffle bytes, printed at the end.
 */
final class StageTimes extends SparkListener {
  private final List<String> lines = new ArrayList<>();

  @Override
  public synchronized void onStageCompleted(SparkListenerStageCompleted e) {
    StageInfo s = e.stageInfo();
    long wall = s.completionTime().isDefined() && s.submissionTime().isDefined()
        ? (Long) s.completionTime().get() - (Long) s.submissionTime().get() : -1;
    var m = s.taskMetrics();
    String line = String.format("STAGE %4d %-45s tasks=%4d wall_s=%7.1f task_s=%7.1f in_rec=%d shuffle_w_mib=%.1f "
            + "shuffle_r_mib=%.1f spill_mib=%.1f", s.stageId(), s.name(), s.numTasks(), wall / 1e3,
        m.executorRunTime() / 1e3, m.inputMetrics().recordsRead(),
        m.shuffleWriteMetrics().bytesWritten() / 1048576.0,
        (m.shuffleReadMetrics().remoteBytesRead() + m.shuffleReadMetrics().localBytesRead()) / 1048576.0,
        m.diskBytesSpilled() / 1048576.0);
    lines.add(line);
    System.out.println(line); // as it happens too: a run cut by its time bound still shows its stages
  }

  synchronized void print() {
    lines.forEach(System.out::println);
  }
}
