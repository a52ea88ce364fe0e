package dev.brook.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A parsed Prometheus exposition: every series line as its name, labels and value. */
record Scrape(String text, List<Series> series) {

  record Series(String name, Map<String, String> labels, double value) {}

  static Scrape parse(String text) {
    List<Series> all = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.lastIndexOf(' ');
      String name;
      Map<String, String> labels = new LinkedHashMap<>();
      if (brace >= 0 && brace < space) {
        name = line.substring(0, brace);
        String body = line.substring(brace + 1, line.lastIndexOf('}'));
        int i = 0;
        while (i < body.length()) {
          int eq = body.indexOf('=', i);
          String key = body.substring(i, eq).trim();
          int start = eq + 2; // ="
          StringBuilder value = new StringBuilder();
          int j = start;
          while (body.charAt(j) != '"') {
            if (body.charAt(j) == '\\') {
              j++;
            }
            value.append(body.charAt(j++));
          }
          labels.put(key, value.toString());
          i = j + 1;
          if (i < body.length() && body.charAt(i) == ',') {
            i++;
          }
        }
      } else {
        name = line.substring(0, space);
      }
      all.add(new Series(name, labels, Double.parseDouble(line.substring(space + 1).trim())));
    }
    return new Scrape(text, all);
  }

  /** The one series of this name whose labels include these (pairs: key, value, ...). */
  double value(String name, String... labels) {
    List<Series> found = find(name, labels);
    assertThat(found).as("series %s%s in:%n%s", name, List.of(labels), text).hasSize(1);
    return found.get(0).value();
  }

  List<Series> find(String name, String... labels) {
    List<Series> found = new ArrayList<>();
    outer:
    for (Series s : series) {
      if (!s.name().equals(name)) {
        continue;
      }
      for (int i = 0; i < labels.length; i += 2) {
        if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
          continue outer;
        }
      }
      found.add(s);
    }
    return found;
  }

  /** The label values of a label across every series of a name. */
  List<String> labelValues(String name, String label) {
    return series.stream().filter(s -> s.name().equals(name)).map(s -> s.labels().get(label)).distinct().toList();
  }
}
