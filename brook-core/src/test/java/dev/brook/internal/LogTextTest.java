package dev.brook.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LogTextTest {

  @Test
  void textWithoutControlsIsReturnedAsIs() {
    String plain = "orders.eu-west/1 Zürich 東京 € 😀 \\x0a \"quoted\" ~";
    assertThat(LogText.escape(plain)).isSameAs(plain);
    assertThat(LogText.escape("")).isEmpty();
    assertThat(LogText.escape(null)).isNull();
  }

  @Test
  void lineBreaksAndTabsBecomeTheirEscapes() {
    assertThat(LogText.escape("id\n12:00:00 ERROR forged\r\tx")).isEqualTo("id\\n12:00:00 ERROR forged\\r\\tx");
  }

  @Test
  void otherC0ControlsDelAndC1ControlsBecomeHexEscapes() {
    assertThat(LogText.escape("a\u0000b\u001b[31mred\u007f\u0085\u009b\u00a0")).isEqualTo("a\\x00b\\x1b[31mred\\x7f\\x85\\x9b\u00a0");
    assertThat(LogText.escape("\u001f \u0020")).isEqualTo("\\x1f  ");
  }

  @Test
  void unicodeSeparatorsAndBidiControlsBecomeUnicodeEscapes() {
    assertThat(LogText.escape("a\u2028b\u2029c")).isEqualTo("a\\u2028b\\u2029c");
    assertThat(LogText.escape("x\u202ey\u2066z\u2069\u2027\u206a")).isEqualTo("x\\u202ey\\u2066z\\u2069\u2027\u206a");
  }

  @Test
  void theEscapedPartCanStartAnywhere() {
    assertThat(LogText.escape("\n")).isEqualTo("\\n");
    assertThat(LogText.escape("abc\n")).isEqualTo("abc\\n");
    assertThat(LogText.escape("\nabc")).isEqualTo("\\nabc");
  }
}
