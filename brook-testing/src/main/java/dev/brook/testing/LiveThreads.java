package dev.brook.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.management.HotSpotDiagnosticMXBean;

/**
 * The live threads of this JVM, virtual ones included: {@code Thread.getAllStackTraces()} does not list virtual
 * threads (Brook runs handlers, consume loops and stops on them), the JDK's JSON thread dump does.
 */
final class LiveThreads {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LiveThreads() {
    }

    /** One live thread: its id, name and the top of its stack (for a leak report). */
    record LiveThread(long tid, String name, boolean virtual, List<String> stack) {

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(name).append(virtual ? " (virtual, tid " : " (tid ").append(tid)
                    .append(')');
            stack.stream().limit(6).forEach(frame -> sb.append("\n        at ").append(frame));
            return sb.toString();
        }
    }

    /** Every live thread whose name starts with {@code prefix}. */
    static List<LiveThread> named(String prefix) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("thread-dump");
            Path file = dir.resolve("threads.json");
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .dumpThreads(file.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.JSON);
            JsonNode root = JSON.readTree(file.toFile());
            List<LiveThread> threads = new ArrayList<>();
            for (JsonNode container : root.path("threadDump").path("threadContainers")) {
                for (JsonNode t : container.path("threads")) {
                    String name = t.path("name").asText();
                    if (name.startsWith(prefix)) {
                        List<String> stack = new ArrayList<>();
                        t.path("stack").forEach(frame -> stack.add(frame.asText()));
                        threads.add(new LiveThread(t.path("tid").asLong(), name, t.path("virtual").asBoolean(),
                                stack));
                    }
                }
            }
            return threads;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the live threads: " + e.getMessage(), e);
        } finally {
            if (dir != null) {
                RedisProcess.deleteRecursively(dir);
            }
        }
    }
}
