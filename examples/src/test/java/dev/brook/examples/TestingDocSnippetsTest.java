package dev.brook.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/testing.md shows code from {@link OrderServiceTest}, marked {@code // region:name} … {@code
 * // endregion}: every {@code <!-- snippet: OrderServiceTest#name -->} block must be that region
 * exactly as compiled and run here (indentation aside), and every region must be shown.
 */
class TestingDocSnippetsTest {

  private static final Path SOURCE = Path.of("src/test/java/dev/brook/examples/OrderServiceTest.java");
  private static final Path DOC = Path.of("../docs/testing.md");

  private static Map<String, String> regions() throws IOException {
    Map<String, String> regions = new LinkedHashMap<>();
    String name = null;
    List<String> body = new ArrayList<>();
    for (String line : Files.readAllLines(SOURCE)) {
      String t = line.trim();
      if (t.startsWith("// region:")) {
        name = "OrderServiceTest#" + t.substring("// region:".length());
        body.clear();
      } else if (t.equals("// endregion") && name != null) {
        regions.put(name, dedent(body));
        name = null;
      } else if (name != null) {
        body.add(line);
      }
    }
    return regions;
  }

  private static String dedent(List<String> lines) {
    int indent = lines.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    StringBuilder b = new StringBuilder();
    for (String l : lines) {
      b.append(l.isBlank() ? "" : l.substring(indent)).append('\n');
    }
    return b.toString();
  }

  @Test
  void everySnippetIsARegionAsCompiledAndEveryRegionIsShown() throws IOException {
    Map<String, String> regions = regions();
    assertThat(regions).containsOnlyKeys("OrderServiceTest#wiring", "OrderServiceTest#memory", "OrderServiceTest#clock",
        "OrderServiceTest#redis");
    Set<String> shown = new LinkedHashSet<>();
    Matcher m = Pattern.compile("<!-- snippet: (\\S+) -->\\n```java\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(DOC));
    while (m.find()) {
      assertThat(regions).as("docs/testing.md shows snippet %s", m.group(1)).containsKey(m.group(1));
      assertThat(m.group(2)).as("snippet %s in docs/testing.md", m.group(1)).isEqualTo(regions.get(m.group(1)));
      shown.add(m.group(1));
    }
    assertThat(shown).as("regions shown in docs/testing.md").containsExactlyInAnyOrderElementsOf(regions.keySet());
  }
}
