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
 * else the statically linked Redis {@value #EMBEDDED_VERSION} shipped in the
 * {@code com.github.lansheng228:embedded-redis} jar (linux and macOS, amd64 and arm64), extracted once per JVM with
 * its {@code redis-cli} into a temporary directory that is deleted on JVM exit. {@value #MODE_PROPERTY} (or
 * {@value #MODE_ENV}) = {@code embedded} or {@code path} forces one of the two. Thread-safe.
 */
final class RedisBinaries {

    static final String EMBEDDED_VERSION = "7.0.9";
    /** System property choosing the default binary: {@code embedded}, {@code path}, or unset / {@code auto}. */
    static final String MODE_PROPERTY = "brook.redis.binary";
    /** Environment variable read when {@value #MODE_PROPERTY} is not set. */
    static final String MODE_ENV = "BROOK_REDIS_BINARY";
    static final List<Path> FALLBACK_LOCATIONS =
            List.of(Path.of("/usr/bin/redis-server"), Path.of("/usr/local/bin/redis-server"));
    static final String INSTALL_HINT = "Fix: install Redis 7 so that redis-server is on PATH "
            + "(Debian/Ubuntu: apt-get install redis-server), or keep com.github.lansheng228:embedded-redis "
            + "on the classpath (Redis " + EMBEDDED_VERSION + " for linux and macOS, amd64 and arm64), "
            + "and do not set " + MODE_PROPERTY + "/" + MODE_ENV + "=path.";

    private static final Logger LOG = LoggerFactory.getLogger(RedisServer.class);
    private static final Object EMBEDDED_LOCK = new Object();
    private static Path embeddedBinary; // guarded by EMBEDDED_LOCK

    private RedisBinaries() {
    }

    /** How the default binary is chosen. */
    enum Mode {
        /** PATH first, else the embedded binary. */
        AUTO,
        /** Always the embedded binary: proves the route of a machine with only a JDK. */
        EMBEDDED,
        /** Only PATH, never the embedded binary. */
        PATH;

        /** {@value #MODE_PROPERTY}, else {@value #MODE_ENV}, else {@link #AUTO}. */
        static Mode current() {
            String property = System.getProperty(MODE_PROPERTY);
            String setting = property != null ? property : System.getenv(MODE_ENV);
            String name = property != null ? MODE_PROPERTY : MODE_ENV;
            return parse(name, setting);
        }

        static Mode parse(String name, String setting) {
            if (setting == null || setting.isBlank()) {
                return AUTO;
            }
            return switch (setting.strip().toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "embedded" -> EMBEDDED;
                case "path" -> PATH;
                default -> throw new IllegalStateException(name + " is '" + setting.strip()
                        + "'; use embedded (the binary shipped in embedded-redis), path (redis-server on PATH only) "
                        + "or auto (PATH, else embedded; the default).");
            };
        }
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

    /** The default binary as {@link Mode#current()} says. */
    static DefaultBinary defaultBinary() {
        return defaultBinary(Mode.current(), pathEntries(), FALLBACK_LOCATIONS);
    }

    /**
     * {@code redis-server} from these PATH entries or fallback locations, else the embedded binary (so a machine
     * with only a JDK runs the tests); {@code mode} may rule out one of the two.
     */
    static DefaultBinary defaultBinary(Mode mode, List<String> pathEntries, List<Path> fallbacks) {
        if (mode != Mode.EMBEDDED) {
            Optional<Path> onPath = findOnPath(pathEntries, fallbacks);
            if (onPath.isPresent()) {
                return new DefaultBinary(onPath.get(), RedisServer.SOURCE_PATH);
            }
            if (mode == Mode.PATH) {
                throw new IllegalStateException("No redis-server binary available: " + MODE_PROPERTY + "/" + MODE_ENV
                        + " is path, and redis-server is not in the PATH entries " + pathEntries + " nor " + fallbacks
                        + ". " + INSTALL_HINT);
            }
        }
        try {
            return new DefaultBinary(embeddedBinary(), RedisServer.SOURCE_EMBEDDED);
        } catch (IllegalStateException e) {
            String tried = mode == Mode.EMBEDDED
                    ? "Tried (" + MODE_PROPERTY + "/" + MODE_ENV + " is embedded): "
                    : "Tried: redis-server in the PATH entries " + pathEntries + ", " + fallbacks + ", and ";
            throw new IllegalStateException("No redis-server binary available. " + tried + "the embedded-redis "
                    + "resource " + embeddedResource("redis-server") + " (" + e.getMessage() + "). " + INSTALL_HINT, e);
        }
    }

    /**
     * The PATH binary the default resolution would start, which {@link RedisServerExtension} may retry with the
     * embedded one; empty when there is none or {@link Mode} rules out one of the two.
     */
    static Optional<Path> pathBinaryWithEmbeddedFallback() {
        return Mode.current() == Mode.AUTO ? findOnPath() : Optional.empty();
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

    /** {@code linux-amd64}, {@code linux-arm64}, {@code darwin-amd64} or {@code darwin-arm64}: the jar's platforms. */
    static Optional<String> platform(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        String arch = osArch.toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") || os.startsWith("darwin") ? "darwin" : null;
        String a = switch (arch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            default -> null;
        };
        return o == null || a == null ? Optional.empty() : Optional.of(o + "-" + a);
    }

    private static String currentPlatformOrName() {
        return platform(System.getProperty("os.name", ""), System.getProperty("os.arch", ""))
                .orElse("<" + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + ">");
    }

    /** The jar resource of {@code tool} ({@code redis-server}, {@code redis-cli}) for this machine. */
    static String embeddedResource(String tool) {
        return "/" + tool + "-" + EMBEDDED_VERSION + "-" + currentPlatformOrName();
    }

    /**
     * The embedded {@code redis-server}, extracted once per JVM (again if a file vanished) into a temporary directory
     * together with {@code redis-cli} (so {@link RedisCluster#reshardWithRedisCli} finds it next to the server).
     */
    static Path embeddedBinary() {
        synchronized (EMBEDDED_LOCK) {
            if (embeddedBinary != null && Files.isExecutable(embeddedBinary)
                    && Files.isExecutable(embeddedBinary.resolveSibling("redis-cli"))) {
                return embeddedBinary;
            }
            String platform = platform(System.getProperty("os.name", ""), System.getProperty("os.arch", ""))
                    .orElseThrow(() -> new IllegalStateException("embedded-redis has binaries for linux and macOS on "
                            + "amd64 and arm64 only, this is " + System.getProperty("os.name") + "/"
                            + System.getProperty("os.arch")));
            try {
                Path dir = Files.createTempDirectory("brook-redis-" + EMBEDDED_VERSION + "-");
                // deleteOnExit runs in reverse order of registration: the files go first, then their directory.
                dir.toFile().deleteOnExit();
                Path server = extract("redis-server", platform, dir);
                extract("redis-cli", platform, dir);
                embeddedBinary = server;
                LOG.debug("Extracted embedded redis-server and redis-cli {} to {}", EMBEDDED_VERSION, dir);
                return server;
            } catch (IOException e) {
                throw new IllegalStateException("cannot extract the embedded Redis " + EMBEDDED_VERSION + ": " + e, e);
            }
        }
    }

    private static Path extract(String tool, String platform, Path dir) throws IOException {
        String resource = tool + "-" + EMBEDDED_VERSION + "-" + platform;
        // Through the class loader: a top-level resource of another jar, on the class path or the module path.
        try (InputStream in = RedisBinaries.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("resource " + resource
                        + " not on the classpath (is com.github.lansheng228:embedded-redis a dependency?)");
            }
            Path file = dir.resolve(tool);
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            try {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
            } catch (UnsupportedOperationException e) {
                if (!file.toFile().setExecutable(true, true)) {
                    throw new IOException("cannot make " + file + " executable", e);
                }
            }
            return file;
        }
    }
}
