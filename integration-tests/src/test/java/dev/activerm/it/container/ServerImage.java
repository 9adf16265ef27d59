package dev.activerm.it.container;

import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.utility.DockerImageName;

/**
 * The server image built from the repo's {@code server/Dockerfile}, and the containers and
 * volumes the container suite runs it with. Everything created here has a unique name (other
 * runs may share the Docker engine) and is removed by {@link #close()}.
 * Use from a class annotated {@link RequiresDocker}.
 */
final class ServerImage implements AutoCloseable {
  static final int GRPC_PORT = 50051;
  static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(5);
  private static final Logger log = LoggerFactory.getLogger(ServerImage.class);

  private final DockerClient docker;
  private final String imageName;
  private final String runId = UUID.randomUUID().toString().substring(0, 8);
  private final List<String> volumes = new ArrayList<>();

  private ServerImage(DockerClient docker, String imageName) {
    this.docker = docker;
    this.imageName = imageName;
  }

  /** Builds {@code server/Dockerfile} with the base image as {@code BASE_IMAGE} build arg. */
  static ServerImage build() throws Exception {
    DockerClient docker = DockerClientFactory.instance().client();
    String baseImage = RequiresDocker.Condition.baseImage();

    Path serverDir = Path.of(System.getProperty("activerm.server.dir", "../server")).toAbsolutePath().normalize();
    Path dockerfile = serverDir.resolve("Dockerfile");
    Path jar = serverDir.resolve("target/activerm-server.jar");
    if (!Files.isRegularFile(dockerfile) || !Files.isRegularFile(jar)) {
      fail("need " + dockerfile + " and " + jar + "; run mvn -B -pl integration-tests -am verify from the repo root");
    }

    // Unique per run: other builds on this machine may share the engine.
    String name = "activerm-server-it:" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    long start = System.nanoTime();
    String built = new ImageFromDockerfile(name, false)
        .withFileFromPath("Dockerfile", dockerfile)
        .withFileFromPath("target/activerm-server.jar", jar)
        .withBuildArg("BASE_IMAGE", baseImage)
        .get(BUILD_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    log.info("built {} from {} (BASE_IMAGE={}) in {} ms", built, dockerfile, baseImage,
        (System.nanoTime() - start) / 1_000_000);
    return new ServerImage(docker, built);
  }

  DockerClient docker() {
    return docker;
  }

  String imageName() {
    return imageName;
  }

  /** A new named volume, removed by {@link #close()}. */
  String newVolume(String purpose) {
    String name = "activerm-it-" + runId + "-" + purpose;
    docker.createVolumeCmd().withName(name).exec();
    volumes.add(name);
    return name;
  }

  /**
   * A server container (not started) with /data on the given named volume (null: the image's
   * anonymous volume, removed with the container), its gRPC port published on 127.0.0.1 only,
   * ready when the server logs that it listens.
   */
  GenericContainer<?> container(String dataVolume, String logName) {
    GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(imageName))
        .withExposedPorts(GRPC_PORT)
        .withLogConsumer(new Slf4jLogConsumer(LoggerFactory.getLogger("container." + logName)))
        .waitingFor(Wait.forLogMessage(".*activerm listening on port " + GRPC_PORT + ".*\\n", 1)
            .withStartupTimeout(STARTUP_TIMEOUT))
        .withCreateContainerCmdModifier(cmd -> {
          // Publish on loopback only (Testcontainers' default publishes on every interface).
          cmd.getHostConfig()
              .withPublishAllPorts(false)
              .withPortBindings(new PortBinding(Ports.Binding.bindIp("127.0.0.1"), ExposedPort.tcp(GRPC_PORT)));
          if (dataVolume != null) {
            cmd.getHostConfig().withBinds(new Bind(dataVolume, new Volume("/data")));
          }
          cmd.withName("activerm-it-" + runId + "-" + logName);
        });
    return c;
  }

  @Override
  public void close() {
    for (String volume : volumes) {
      try {
        docker.removeVolumeCmd(volume).exec();
      } catch (RuntimeException e) {
        log.warn("could not remove volume {}: {}", volume, e.toString());
      }
    }
    volumes.clear();
    try {
      docker.removeImageCmd(imageName).withForce(true).withNoPrune(false).exec();
    } catch (RuntimeException e) {
      log.warn("could not remove image {}: {}", imageName, e.toString());
    }
  }
}
