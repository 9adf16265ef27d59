package dev.activerm.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/** Main turns Netty's JFR events off by default and leaves an operator's setting alone. */
class NettyJfrDefaultTest {
  private final String before = System.getProperty(Main.NETTY_JFR);

  @AfterEach
  void restore() {
    if (before == null) {
      System.clearProperty(Main.NETTY_JFR);
    } else {
      System.setProperty(Main.NETTY_JFR, before);
    }
  }

  @Test
  void offWhenUnset() {
    System.clearProperty(Main.NETTY_JFR);
    Main.nettyJfrOffUnlessAsked();
    assertThat(System.getProperty(Main.NETTY_JFR)).isEqualTo("false");
  }

  @Test
  void anOperatorsValueStays() {
    System.setProperty(Main.NETTY_JFR, "true");
    Main.nettyJfrOffUnlessAsked();
    assertThat(System.getProperty(Main.NETTY_JFR)).isEqualTo("true");
  }

  @Test
  void theNameIsTheShadedNettysOwn() throws Exception {
    // A renamed property would silently do nothing: the shaded PlatformDependent must read this name.
    try (var in = NettyJfrDefaultTest.class.getClassLoader()
        .getResourceAsStream("io/grpc/netty/shaded/io/netty/util/internal/PlatformDependent.class")) {
      assertThat(in).as("grpc-netty-shaded's PlatformDependent").isNotNull();
      String bytes = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
      assertThat(bytes).contains(Main.NETTY_JFR);
    }
  }
}
