package dev.brook.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the {@code redis-server} executable comes from: {@code PATH} (then {@code /usr/bin}, {@code /usr/local/bin}),
 * else the linux-amd64 binary shipped in the {@code embedded-redis} jar, extracted once per JVM to a temporary
 * executable that is deleted on JVM exit. Thread-safe.
 */
final class RedisBinaries {

    static final String EMBEDDED_RESOURCE = "/redis-server-6.2.6-v5-linux-amd64";
    static final List<Path> FALLBACK_LOCATIONS =
            List.of(Path.of("/usr/bin/redis-server"), Path.of("/usr/local/bin/redis-server"));
    static final String INSTALL_HINT = "Fix: install Redis so that redis-server is on PATH "
            + "(Debian/Ubuntu: apt-get install redis-server), or keep com.github.codemonstur:embedded-redis "
            + "on the classpath (its binary runs on linux-amd64 only).";

    private static final Logger LOG = LoggerFactory.getLogger(RedisServer.class);
    private static final Object EMBEDDED_LOCK = new Object();
    private static Path embeddedBinary; // guarded by EMBEDDED_LOCK

    private RedisBinaries() {
    }

    /** The binary {@link RedisServer.Builder#start()} uses by default, and its {@link RedisServer#source()}. */
    record DefaultBinary(Path path, String source) {
    }

    static List<String> pathEntries() {
        String path = System.getenv("PATH");
        if (path == null || path.isBlank()) {
            return List.of();
        }
        List<String> entries = new ArrayList<>();
        for (String entry : path.split(File.pathSeparator)) {
            if (!entry.isBlank()) {
                entries.add(entry);
            }
        }
        return entries;
    }

    /**
     * {@code redis-server} from these PATH entries or fallback locations, else the embedded binary (so a machine
     * with only a JDK runs the tests).
     */
    static DefaultBinary defaultBinary(List<String> pathEntries, List<Path> fallbacks) {
        Optional<Path> onPath = findOnPath(pathEntries, fallbacks);
        if (onPath.isPresent()) {
            return new DefaultBinary(onPath.get(), RedisServer.SOURCE_PATH);
        }
        try {
            return new DefaultBinary(embeddedBinary(), RedisServer.SOURCE_EMBEDDED);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("No redis-server binary available. Tried: redis-server in the "
                    + "PATH entries " + pathEntries + ", " + fallbacks
                    + ", and the embedded-redis resource " + EMBEDDED_RESOURCE + " (" + e.getMessage()
                    + "). " + INSTALL_HINT, e);
        }
    }

    /** {@code redis-server} from the PATH entries, then /usr/bin and /usr/local/bin. */
    static Optional<Path> findOnPath() {
        return findOnPath(pathEntries(), FALLBACK_LOCATIONS);
    }

    static Optional<Path> findOnPath(List<String> pathEntries, List<Path> fallbacks) {
        List<Path> candidates = new ArrayList<>();
        for (String entry : pathEntries) {
            try {
                candidates.add(Path.of(entry, "redis-server"));
            } catch (RuntimeException invalidPath) {
                // ignore malformed PATH entries
            }
        }
        candidates.addAll(fallbacks);
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate.toAbsolutePath());
            }
        }
        return Optional.empty();
    }

    /** The embedded linux-amd64 binary, extracted once per JVM (again if the temp file vanished). */
    static Path embeddedBinary() {
        synchronized (EMBEDDED_LOCK) {
            if (embeddedBinary != null && Files.isExecutable(embeddedBinary)) {
                return embeddedBinary;
            }
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
                throw new IllegalStateException("the embedded binary is linux-amd64 only, this is " + os + "/" + arch);
            }
            try (InputStream in = RedisServer.class.getResourceAsStream(EMBEDDED_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("resource " + EMBEDDED_RESOURCE
                            + " not on the classpath (is com.github.codemonstur:embedded-redis a dependency?)");
                }
                Path file = Files.createTempFile("brook-redis-server-6.2.6-", "");
                file.toFile().deleteOnExit();
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                try {
                    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
                } catch (UnsupportedOperationException e) {
                    if (!file.toFile().setExecutable(true, true)) {
                        throw new IOException("cannot make " + file + " executable", e);
                    }
                }
                embeddedBinary = file;
                LOG.debug("Extracted embedded redis-server to {}", file);
                return file;
            } catch (IOException e) {
                throw new IllegalStateException("cannot extract " + EMBEDDED_RESOURCE + ": " + e, e);
            }
        }
    }
}
