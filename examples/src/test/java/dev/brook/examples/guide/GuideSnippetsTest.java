package dev.brook.examples.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/guide.md and README.md show code from this package, marked {@code // region:name} … {@code
 * // endregion}: every {@code <!-- snippet: File#name -->} block in them must be that region exactly
 * as compiled here (indentation aside), and every region must be shown somewhere.
 */
class GuideSnippetsTest {

  private static final Path SOURCES = Path.of("src/main/java/dev/brook/examples/guide");
  private static final List<Path> DOCS = List.of(Path.of("../docs/guide.md"), Path.of("../README.md"));

  static Map<String, String> regions() throws IOException {
    Map<String, String> regions = new LinkedHashMap<>();
    try (Stream<Path> files = Files.list(SOURCES)) {
      for (Path file : files.sorted().toList()) {
        List<String> lines = Files.readAllLines(file);
        String name = null;
        List<String> body = new ArrayList<>();
        for (String line : lines) {
          String t = line.trim();
          if (t.startsWith("// region:")) {
            name = file.getFileName().toString().replace(".java", "") + "#" + t.substring("// region:".length());
            body.clear();
          } else if (t.equals("// endregion") && name != null) {
            regions.put(name, dedent(body));
            name = null;
          } else if (name != null) {
            body.add(line);
          }
        }
      }
    }
    return regions;
  }

  static String dedent(List<String> lines) {
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
    assertThat(regions).hasSizeGreaterThanOrEqualTo(11);
    Map<String, String> shown = new LinkedHashMap<>();
    for (Path doc : DOCS) {
      Matcher m = Pattern.compile("<!-- snippet: (\\S+) -->\\n```java\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(doc));
      while (m.find()) {
        assertThat(regions).as("%s shows snippet %s", doc, m.group(1)).containsKey(m.group(1));
        assertThat(m.group(2)).as("snippet %s in %s", m.group(1), doc).isEqualTo(regions.get(m.group(1)));
        shown.put(m.group(1), doc.toString());
      }
    }
    assertThat(shown.keySet()).as("regions shown in the docs").containsAll(regions.keySet());
  }
}
