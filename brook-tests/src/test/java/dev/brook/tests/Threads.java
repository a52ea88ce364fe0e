package dev.brook.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Live threads by name, virtual ones included: {@code Thread.getAllStackTraces()} does not list
 * virtual threads, a JSON thread dump does.
 */
final class Threads {

  private Threads() {}

  /** Names of every live thread, platform and virtual. */
  static List<String> liveNames() {
    try {
      Path file = Files.createTempFile("brook-threads", ".json");
      Files.delete(file);
      try {
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
            .dumpThreads(file.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.JSON);
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        List<String> names = new ArrayList<>();
        for (JsonNode container : root.path("threadDump").path("threadContainers")) {
          for (JsonNode t : container.path("threads")) {
            names.add(t.path("name").asText());
          }
        }
        return names;
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Live threads that Brook started: named {@code brook-}, the leak detector {@code brook-cleaner}
   * included (it runs only while a broker is open).
   */
  static List<String> brookThreads() {
    return liveNames().stream().filter(n -> n.startsWith("brook-")).toList();
  }

  /**
   * Live platform threads, without the JVM's own pools that grow and shrink on their own: the
   * virtual-thread carriers ({@code ForkJoinPool-1-worker-*}) and their unblocker, process reapers,
   * Awaitility's poller, and the client of the test's private server ({@code redis-server-PORT-*},
   * there from the server's start to its close). What is left
   * are threads someone created on purpose, such as a broker's event loops.
   */
  static int platformCount() {
    return platformNames().size();
  }

  static List<String> platformNames() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> !t.getClass().getName().equals("jdk.internal.misc.CarrierThread"))
        .filter(t -> !t.getName().startsWith("process reaper"))
        .filter(t -> !t.getName().equals("VirtualThread-unblocker") && !t.getName().startsWith("awaitility"))
        .filter(t -> !t.getName().startsWith("redis-server-"))
        .map(Thread::getName)
        .sorted()
        .toList();
  }
}
