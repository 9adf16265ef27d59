package dev.activerm.it.container;

import com.github.dockerjava.api.exception.NotFoundException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;

/**
 * Runs a test class only where a Docker engine and the base image are there. Otherwise the
 * class is skipped with a sentence saying what is missing, unless {@code ACTIVERM_REQUIRE_DOCKER=1}
 * (exported by {@code .ci/run} once its engine is up): then it fails, so a green CI run means the
 * container tests really ran.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RequiresDocker.Condition.class)
@interface RequiresDocker {

  final class Condition implements ExecutionCondition {
    private static volatile String missing; // null until checked; "" when nothing is missing

    /** The base image the server image is built FROM: env ACTIVERM_BASE_IMAGE, else -Dactiverm.base.image. */
    static String baseImage() {
      String env = System.getenv("ACTIVERM_BASE_IMAGE");
      if (env != null && !env.isBlank()) {
        return env;
      }
      return System.getProperty("activerm.base.image", "activerm-base:bookworm-jre17");
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      String why = whatIsMissing();
      if (why.isEmpty()) {
        return ConditionEvaluationResult.enabled("Docker engine and base image " + baseImage() + " are there");
      }
      if ("1".equals(System.getenv("ACTIVERM_REQUIRE_DOCKER"))) {
        throw new IllegalStateException("ACTIVERM_REQUIRE_DOCKER=1 but " + why);
      }
      String reason = "container suite skipped: " + why;
      System.err.println(reason);
      return ConditionEvaluationResult.disabled(reason);
    }

    private static synchronized String whatIsMissing() {
      if (missing == null) {
        missing = check();
      }
      return missing;
    }

    private static String check() {
      if (!DockerClientFactory.instance().isDockerAvailable()) {
        return "no Docker engine is reachable (tried DOCKER_HOST and /var/run/docker.sock); "
            + "start dockerd to run it (.ci/run does)";
      }
      String base = baseImage();
      if (base.startsWith("activerm-base")) { // Local-only: nothing can pull it.
        try {
          DockerClientFactory.instance().client().inspectImageCmd(base).exec();
        } catch (NotFoundException e) {
          return "the local base image " + base + " is missing; build it with "
              + "integration-tests/docker/build-base-image.sh, or set ACTIVERM_BASE_IMAGE=eclipse-temurin:17-jre "
              + "where a registry is reachable";
        }
      }
      return "";
    }
  }
}
