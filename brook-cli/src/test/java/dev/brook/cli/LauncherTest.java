package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LauncherTest {

  @Test
  void featureReleaseOfEveryVersionScheme() {
    assertThat(Launcher.feature("1.8")).isEqualTo(8);
    assertThat(Launcher.feature("9")).isEqualTo(9);
    assertThat(Launcher.feature("17")).isEqualTo(17);
    assertThat(Launcher.feature("21")).isEqualTo(21);
    assertThat(Launcher.feature("25.0.1")).isEqualTo(25);
    assertThat(Launcher.feature(null)).isZero();
    assertThat(Launcher.feature("x")).isZero();
  }

  @Test
  void theLauncherIsLoadableByJava8() throws Exception {
    try (var in = Launcher.class.getResourceAsStream("Launcher.class")) {
      byte[] head = in.readNBytes(8);
      assertThat(((head[6] & 0xFF) << 8) | (head[7] & 0xFF)).as("class file major version").isEqualTo(52);
    }
  }
}
