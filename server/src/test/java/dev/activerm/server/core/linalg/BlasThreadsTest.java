package dev.activerm.server.core.linalg;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The serial scope's one-thread BLAS calls never leak into a parallel-mode call running at the
 * same time on another thread: OpenBLAS's count is process-global, and dgemm's last bits depend
 * on it at this size, so a leak shows as a parallel call's result with the one-thread bits.
 */
class BlasThreadsTest {
  private static final int N = 64;
  private static final int K = 300;
  private int before;

  @BeforeEach
  void twoThreads() {
    before = BlasThreads.current();
    Blas.setThreads(2);
  }

  @AfterEach
  void restore() {
    Blas.setThreads(before);
  }

  @Test
  void serialCallsOnOneThreadNeverChangeAConcurrentParallelCall() throws Exception {
    Random r = new Random(3);
    double[] a = new double[K * N];
    double[] b = new double[K * N];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextGaussian();
      b[i] = r.nextGaussian();
    }
    double[] two = product(a, b);
    double[] one = Parallel.serially(() -> product(a, b));
    // Without this the test could not fail: at this size OpenBLAS 0.3.31 rounds differently on
    // one thread than on two (if a later OpenBLAS does not, pick a size where it does).
    assertThat(one).isNotEqualTo(two);

    int calls = 1000;
    AtomicInteger serialWrong = new AtomicInteger();
    Thread serial = new Thread(() -> Parallel.serially(() -> {
      for (int i = 0; i < calls; i++) {
        if (!Arrays.equals(product(a, b), one)) {
          serialWrong.incrementAndGet();
        }
      }
      return null;
    }));
    serial.start();
    int parallelWrong = 0;
    for (int i = 0; i < calls; i++) {
      if (!Arrays.equals(product(a, b), two)) {
        parallelWrong++;
      }
    }
    serial.join();
    assertThat(parallelWrong).as("parallel-mode calls that ran with the serial scope's one thread").isZero();
    assertThat(serialWrong.get()).as("serial-scope calls that ran on two threads").isZero();
  }

  private static double[] product(double[] a, double[] b) {
    double[] c = new double[N * N];
    Blas.dgemm(true, false, N, N, K, 1.0, a, N, b, N, 0.0, c, N);
    return c;
  }
}
