package dev.brook.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RedisServerTest {

    @Test
    void twoServersGetDifferentPortsAndBothAnswerPing() {
        try (RedisServer a = RedisServer.start(); RedisServer b = RedisServer.start()) {
            assertThat(a.port()).isNotEqualTo(b.port());
            assertThat(List.of(a.port(), b.port())).doesNotContain(6379);
            assertThat(a.command("PING")).isEqualTo("PONG");
            assertThat(b.command("PING")).isEqualTo("PONG");
            assertThat(a.pid()).isNotEqualTo(b.pid());
            assertThat(a.directory()).isNotEqualTo(b.directory());
            assertThat(a.host()).isEqualTo("127.0.0.1");
            assertThat(a.url()).isEqualTo("redis://127.0.0.1:" + a.port());
            assertThat(a.isRunning()).isTrue();
        }
    }

    @Test
    void tlsOnlyServerWithThrowawayCertificatesAnswersOverTlsAndRefusesPlainText(@TempDir Path dir) throws IOException {
        TlsCertificates certs = TlsCertificates.generate(dir);
        try (RedisServer tls = RedisServer.builder().tls(certs).start()) {
            assertThat(tls.url()).isEqualTo("rediss://127.0.0.1:" + tls.port());
            assertThat(tls.command("SET", "k", "over tls")).isEqualTo("OK");
            assertThat(tls.command("GET", "k")).isEqualTo("over tls");
            assertThat(tls.commandLine()).containsSequence("--port", "0", "--tls-port", Integer.toString(tls.port()));
            // The same port does not speak plain RESP: a PING in clear text gets no PONG.
            try (Socket plain = new Socket("127.0.0.1", tls.port())) {
                plain.setSoTimeout(2_000);
                plain.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                byte[] answer = new byte[5];
                int n;
                try {
                    n = plain.getInputStream().read(answer);
                } catch (IOException closedOrTimedOut) {
                    n = -1;
                }
                assertThat(n == 5 ? new String(answer, StandardCharsets.US_ASCII) : "").isNotEqualTo("+PONG");
            }
        }
    }

    @Test
    void commandsReturnJavaValues() {
        try (RedisServer redis = RedisServer.start()) {
            assertThat(redis.command("SET", "k", "v")).isEqualTo("OK");
            assertThat(redis.command("GET", "k")).isEqualTo("v");
            assertThat(redis.command("GET", "missing")).isNull();
            assertThat(redis.command("INCR", "n")).isEqualTo(1L);
            assertThat(redis.command("RPUSH", "list", "a", "b", "ünïcødé")).isEqualTo(3L);
            assertThat(redis.command("LLEN", "list")).isEqualTo(3L);
            assertThat(redis.command("LRANGE", "list", "0", "-1")).isEqualTo(List.of("a", "b", "ünïcødé"));
            assertThat(redis.command("PUBSUB", "NUMSUB", "ch")).isEqualTo(List.of("ch", 0L));
            assertThat((String) redis.command("CLIENT", "LIST")).contains("cmd=client");
            assertThat(redis.command("SET", "empty", "")).isEqualTo("OK");
            assertThat(redis.command("GET", "empty")).isEqualTo("");
        }
    }

    @Test
    void errorReplyThrowsWithTheRedisErrorText() {
        try (RedisServer redis = RedisServer.start()) {
            redis.command("SET", "k", "v");
            assertThatThrownBy(() -> redis.command("LPUSH", "k", "x"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("WRONGTYPE");
            assertThatThrownBy(() -> redis.command("NOSUCHCOMMAND"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("unknown command");
            // the server is fine afterwards
            assertThat(redis.command("GET", "k")).isEqualTo("v");
        }
    }

    @Test
    void resp3RepliesAreUnderstood() {
        try (RedisServer redis = RedisServer.start()) {
            Object hello = redis.command("HELLO", "3");
            assertThat(hello).isInstanceOf(Map.class);
            assertThat(((Map<?, ?>) hello).get("proto")).isEqualTo(3L);
        }
    }

    @Test
    void killRefusesConnectionsAndRestartBringsItBackOnTheSamePort() {
        try (RedisServer redis = RedisServer.start()) {
            int port = redis.port();
            long firstPid = redis.pid();
            redis.command("SET", "k", "v");

            redis.kill();

            assertThat(redis.isRunning()).isFalse();
            assertThat(ProcessHandle.of(firstPid).filter(ProcessHandle::isAlive)).isEmpty();
            assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
            assertThatThrownBy(() -> redis.command("PING"))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasRootCauseInstanceOf(ConnectException.class);
            redis.kill(); // no-op when not running

            redis.restart();

            assertThat(redis.isRunning()).isTrue();
            assertThat(redis.port()).isEqualTo(port);
            assertThat(redis.pid()).isNotEqualTo(firstPid);
            assertThat(redis.command("PING")).isEqualTo("PONG");
            assertThat(redis.command("GET", "k")).as("no persistence by default").isNull();
        }
    }

    @Test
    void stopTerminatesTheProcessAndRestartWorksAfterwards() {
        try (RedisServer redis = RedisServer.start()) {
            long pid = redis.pid();
            redis.stop();
            assertThat(redis.isRunning()).isFalse();
            assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEmpty();
            redis.restart();
            assertThat(redis.command("PING")).isEqualTo("PONG");
            redis.restart(); // restart of a running server stops it first
            assertThat(redis.command("PING")).isEqualTo("PONG");
        }
    }

    @Test
    void closeLeavesNoProcessAndRemovesTheTempDir() {
        RedisServer redis = RedisServer.start();
        long pid = redis.pid();
        Path dir = redis.directory();
        assertThat(dir.resolve("redis.log")).exists();

        redis.close();

        assertThat(ProcessHandle.of(pid)).isEmpty();
        assertThat(dir).doesNotExist();
        assertThat(redis.isRunning()).isFalse();
        redis.close(); // idempotent
        assertThatThrownBy(() -> redis.command("PING")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(redis::restart).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void aGivenDirectoryIsUsedAndKept(@TempDir Path tmp) {
        Path dir = tmp.resolve("redis-data");
        try (RedisServer redis = RedisServer.builder().directory(dir).start()) {
            assertThat(redis.directory()).isEqualTo(dir.toAbsolutePath());
            assertThat(redis.command("CONFIG", "GET", "dir")).isEqualTo(List.of("dir", dir.toAbsolutePath().toString()));
        }
        assertThat(dir.resolve("redis.log")).exists();
    }

    @Test
    void embeddedBinaryIsRedis709WithRedisCliBesideIt() throws Exception {
        try (RedisServer redis = RedisServer.builder().embedded().start()) {
            assertThat(redis.source()).isEqualTo(RedisServer.SOURCE_EMBEDDED);
            assertThat(redis.binary()).isExecutable();
            assertThat(redis.binary().getFileName()).hasToString("redis-server");
            String info = (String) redis.command("INFO", "server");
            assertThat(info).contains("redis_version:7.0.9");
            assertThat(info).contains("process_id:" + redis.pid());
            // Redis 7 commands the suite relies on: sharded Pub/Sub.
            assertThat(redis.command("SPUBLISH", "shard-channel", "m")).isEqualTo(0L);

            // RedisCluster.reshardWithRedisCli looks for redis-cli next to redis-server.
            Path cli = redis.binary().resolveSibling("redis-cli");
            assertThat(cli).isExecutable();
            Process ping = new ProcessBuilder(cli.toString(), "-p", Integer.toString(redis.port()), "PING")
                    .redirectErrorStream(true).start();
            assertThat(new String(ping.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip())
                    .isEqualTo("PONG");
            assertThat(ping.waitFor()).isZero();

            try (RedisServer second = RedisServer.builder().embedded().start()) {
                assertThat(second.binary()).as("extracted once per JVM").isEqualTo(redis.binary());
            }
        }
    }

    @Test
    void embeddedBinarySpeaksTls(@TempDir Path dir) {
        TlsCertificates certs = TlsCertificates.generate(dir);
        try (RedisServer tls = RedisServer.builder().embedded().tls(certs).start()) {
            assertThat(tls.command("SET", "k", "over tls")).isEqualTo("OK");
            assertThat(tls.command("GET", "k")).isEqualTo("over tls");
        }
    }

    @Test
    void certificatesMadeWithKeytoolWhereOpensslIsMissingServeTls(@TempDir Path dir) throws IOException {
        TlsCertificates certs = TlsCertificates.generateWithKeytool(dir);
        assertThat(Files.readString(certs.privateKey())).startsWith("-----BEGIN PRIVATE KEY-----");
        try (RedisServer tls = RedisServer.builder().embedded().tls(certs).start()) {
            assertThat(tls.command("SET", "k", "over tls")).isEqualTo("OK");
            assertThat(tls.command("GET", "k")).isEqualTo("over tls");
        }
        // Made again in the same directory (a test's retry): the stores are replaced, not appended to.
        TlsCertificates again = TlsCertificates.generateWithKeytool(dir);
        try (RedisServer tls = RedisServer.builder().tls(again).start()) {
            assertThat(tls.command("PING")).isEqualTo("PONG");
        }
    }

    @Test
    void embeddedBinaryIsExtractedAgainWhenItsFilesVanish() throws IOException {
        Path first = RedisBinaries.embeddedBinary();
        Files.delete(first.resolveSibling("redis-cli"));
        Path second = RedisBinaries.embeddedBinary();
        assertThat(second.resolveSibling("redis-cli")).isExecutable();
        assertThat(second).isExecutable();
    }

    @Test
    void defaultBinaryComesFromPathWhenOneIsInstalled() {
        try (RedisServer redis = RedisServer.start()) {
            RedisBinaries.Mode mode = RedisBinaries.Mode.current();
            if (mode != RedisBinaries.Mode.EMBEDDED && RedisBinaries.findOnPath().isPresent()) {
                assertThat(redis.source()).isEqualTo(RedisServer.SOURCE_PATH);
                assertThat(redis.binary()).isEqualTo(RedisBinaries.findOnPath().get());
            } else {
                assertThat(redis.source()).isEqualTo(RedisServer.SOURCE_EMBEDDED);
            }
        }
    }

    @Test
    void theModeEmbeddedIgnoresPathAndPathIgnoresTheEmbeddedBinary(@TempDir Path dir) throws IOException {
        Path script = fakeRedisServer(dir);
        RedisBinaries.DefaultBinary embedded =
                RedisBinaries.defaultBinary(RedisBinaries.Mode.EMBEDDED, List.of(dir.toString()), List.of());
        assertThat(embedded).isEqualTo(new RedisBinaries.DefaultBinary(RedisBinaries.embeddedBinary(),
                RedisServer.SOURCE_EMBEDDED));
        assertThat(RedisBinaries.defaultBinary(RedisBinaries.Mode.PATH, List.of(dir.toString()), List.of()))
                .isEqualTo(new RedisBinaries.DefaultBinary(script.toAbsolutePath(), RedisServer.SOURCE_PATH));
        assertThatThrownBy(() -> RedisBinaries.defaultBinary(RedisBinaries.Mode.PATH,
                List.of(dir.resolve("missing").toString()), List.of()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("brook.redis.binary/BROOK_REDIS_BINARY is path")
                .hasMessageContaining("apt-get install redis-server");
    }

    @Test
    void modeSettingsAreParsedAndAnUnknownOneNamesTheChoices() {
        assertThat(RedisBinaries.Mode.parse("p", null)).isEqualTo(RedisBinaries.Mode.AUTO);
        assertThat(RedisBinaries.Mode.parse("p", " ")).isEqualTo(RedisBinaries.Mode.AUTO);
        assertThat(RedisBinaries.Mode.parse("p", "auto")).isEqualTo(RedisBinaries.Mode.AUTO);
        assertThat(RedisBinaries.Mode.parse("p", " Embedded ")).isEqualTo(RedisBinaries.Mode.EMBEDDED);
        assertThat(RedisBinaries.Mode.parse("p", "PATH")).isEqualTo(RedisBinaries.Mode.PATH);
        assertThatThrownBy(() -> RedisBinaries.Mode.parse("brook.redis.binary", "/usr/bin/redis-server"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("brook.redis.binary is '/usr/bin/redis-server'")
                .hasMessageContaining("embedded")
                .hasMessageContaining("path");
    }

    @Test
    void platformsOfTheEmbeddedJar() {
        assertThat(RedisBinaries.platform("Linux", "amd64")).contains("linux-amd64");
        assertThat(RedisBinaries.platform("Linux", "aarch64")).contains("linux-arm64");
        assertThat(RedisBinaries.platform("Mac OS X", "x86_64")).contains("darwin-amd64");
        assertThat(RedisBinaries.platform("Mac OS X", "aarch64")).contains("darwin-arm64");
        assertThat(RedisBinaries.platform("Windows 11", "amd64")).isEmpty();
        assertThat(RedisBinaries.platform("Linux", "riscv64")).isEmpty();
    }

    @Test
    void withoutRedisServerOnPathOrInTheUsualPlacesTheEmbeddedBinaryIsUsed(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("bin"));
        Files.createFile(dir.resolve("bin/redis-server")); // not executable: not a candidate
        RedisBinaries.DefaultBinary chosen = RedisBinaries.defaultBinary(RedisBinaries.Mode.AUTO,
                List.of(dir.resolve("bin").toString(), dir.resolve("missing").toString()), List.of());
        assertThat(chosen.source()).isEqualTo(RedisServer.SOURCE_EMBEDDED);
        try (RedisServer redis = RedisServer.builder().binary(chosen.path()).start()) {
            assertThat(redis.command("PING")).isEqualTo("PONG");
        }
    }

    @Test
    void anExecutableRedisServerOnPathIsPreferredToTheEmbeddedOne(@TempDir Path dir) throws IOException {
        Path script = fakeRedisServer(dir);
        RedisBinaries.DefaultBinary chosen =
                RedisBinaries.defaultBinary(RedisBinaries.Mode.AUTO, List.of(dir.toString()), List.of());
        assertThat(chosen).isEqualTo(new RedisBinaries.DefaultBinary(script.toAbsolutePath(), RedisServer.SOURCE_PATH));
    }

    /** An executable named redis-server in {@code dir} that is not Redis. */
    private static Path fakeRedisServer(Path dir) throws IOException {
        Path script = Files.writeString(dir.resolve("redis-server"), "#!/bin/sh\nexit 1\n");
        assertThat(script.toFile().setExecutable(true)).isTrue();
        return script;
    }

    @Test
    void passwordGoesIntoTheUrlAndIsUsedForCommands() throws IOException {
        try (RedisServer redis = RedisServer.builder().password("s3cret pw").start()) {
            assertThat(redis.url()).isEqualTo("redis://:s3cret%20pw@127.0.0.1:" + redis.port());
            assertThat(redis.command("SET", "k", "v")).isEqualTo("OK");
            assertThat(redis.command("GET", "k")).isEqualTo("v");
            assertThat(rawCommand(redis.port(), "PING")).startsWith("-NOAUTH");
        }
    }

    @Test
    void requirepassGivenAsArgIsAlsoUsed() {
        try (RedisServer redis = RedisServer.builder().arg("--requirepass", "x").start()) {
            assertThat(redis.command("PING")).isEqualTo("PONG");
            assertThat(redis.url()).isEqualTo("redis://:x@127.0.0.1:" + redis.port());
        }
    }

    @Test
    void appendOnlyDataSurvivesKillAndRestart() {
        try (RedisServer redis = RedisServer.builder().appendOnly(true).start()) {
            assertThat(redis.command("CONFIG", "GET", "appendonly")).isEqualTo(List.of("appendonly", "yes"));
            assertThat(redis.command("CONFIG", "GET", "appendfsync")).isEqualTo(List.of("appendfsync", "always"));
            redis.command("SET", "k", "v");
            redis.kill();
            redis.restart();
            assertThat(redis.command("GET", "k")).isEqualTo("v");
        }
    }

    @Test
    void extraArgsAreAppendedAndDefaultsAreInPlace() {
        try (RedisServer redis = RedisServer.builder().arg("--maxmemory", "10mb").start()) {
            assertThat(redis.command("CONFIG", "GET", "maxmemory")).isEqualTo(List.of("maxmemory", "10485760"));
            assertThat(redis.command("CONFIG", "GET", "save")).isEqualTo(List.of("save", ""));
            assertThat(redis.command("CONFIG", "GET", "appendonly")).isEqualTo(List.of("appendonly", "no"));
            assertThat(redis.command("CONFIG", "GET", "bind")).isEqualTo(List.of("bind", "127.0.0.1"));
            assertThat(redis.commandLine()).containsSequence("--save", "");
        }
    }

    @Test
    void explicitPortIsUsedAndATakenPortFailsFast() {
        int port = RedisProcess.freePort();
        try (RedisServer redis = RedisServer.builder().port(port).start()) {
            assertThat(redis.port()).isEqualTo(port);
            assertThat(redis.command("PING")).isEqualTo("PONG");

            long started = System.nanoTime();
            assertThatThrownBy(() -> RedisServer.builder().port(port).start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("Port " + port)
                    .hasMessageContaining("already in use");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
            assertThat(redis.command("PING")).as("the first server is unaffected").isEqualTo("PONG");
        }
    }

    @Test
    void startupFailureReportsCommandLineAndLogTail() {
        assertThatThrownBy(() -> RedisServer.builder().password("hidden").arg("--loadmodule", "/nonexistent/module.so").start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("exited with code")
                .hasMessageContaining("--loadmodule /nonexistent/module.so")
                .hasMessageContaining("--save \"\"")
                .hasMessageContaining("redis.log")
                .hasMessageContaining("/nonexistent/module.so") // from the log
                .hasMessageContaining("--requirepass ***")
                .hasMessageNotContaining("hidden");
    }

    @Test
    void configErrorsPrintedOnStderrAreReported() {
        assertThatThrownBy(() -> RedisServer.builder().arg("--no-such-directive", "x").start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("--no-such-directive x")
                .hasMessageContaining("Bad directive");
    }

    @Test
    void missingBinaryFailsWithTheFix() {
        Path bogus = Path.of("/nonexistent/redis-server");
        assertThatThrownBy(() -> RedisServer.builder().binary(bogus).start())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(bogus.toString())
                .hasMessageContaining("apt-get install redis-server");
    }

    @Test
    void commandsMayRunConcurrently() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    futures.add(pool.submit(() -> {
                        for (int i = 0; i < 50; i++) {
                            redis.command("INCR", "counter");
                        }
                    }));
                }
                for (Future<?> f : futures) {
                    f.get(30, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(redis.command("GET", "counter")).isEqualTo("400");
        }
    }

    @Test
    void commandsRunOnOneLettuceConnectionWhoseThreadsEndWithClose() throws Exception {
        RedisServer redis = RedisServer.start();
        String prefix = "redis-server-" + redis.port() + "-";
        try {
            redis.command("SET", "k", "v");
            assertThat(threadsNamed(prefix)).as("the client's I/O thread").isNotEmpty()
                    .noneMatch(name -> name.startsWith("brook-"));
            assertThat(clientsNamed(redis, RedisServer.CLIENT_NAME)).isEqualTo(1);

            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    futures.add(pool.submit(() -> {
                        for (int i = 0; i < 25; i++) {
                            redis.command("INCR", "n");
                        }
                    }));
                }
                for (Future<?> f : futures) {
                    f.get(30, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(redis.command("GET", "n")).isEqualTo("100");
            assertThat(clientsNamed(redis, RedisServer.CLIENT_NAME)).as("one kept between commands").isEqualTo(1);
        } finally {
            redis.close();
        }
        assertThat(threadsNamed(prefix)).as("threads of the closed server's client").isEmpty();
    }

    @Test
    void aCommandThatChangesItsConnectionLeavesTheNextCommandsDefaultsAlone() {
        try (RedisServer redis = RedisServer.start()) {
            assertThat(redis.command("HELLO", "3")).isInstanceOf(Map.class);
            assertThat(redis.command("CONFIG", "GET", "save")).as("RESP2 again").isEqualTo(List.of("save", ""));
            assertThat(redis.command("SELECT", "1")).isEqualTo("OK");
            redis.command("SET", "k", "v");
            assertThat(redis.command("DBSIZE")).as("database 0 again").isEqualTo(1L);
            assertThat(redis.command("CLIENT", "SETNAME", "other")).isEqualTo("OK");
            assertThat(clientsNamed(redis, RedisServer.CLIENT_NAME)).isEqualTo(1);
            assertThat(clientsNamed(redis, "other")).isZero();
        }
    }

    @Test
    void aBlockingCommandDoesNotHoldUpAnotherThreadsCommands() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Object> popped = pool.submit(() -> redis.command("BLPOP", "q", "0"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (clientsBlocked(redis) == 0 && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                assertThat(redis.command("RPUSH", "q", "x")).isEqualTo(1L);
                assertThat(popped.get(10, TimeUnit.SECONDS)).isEqualTo(List.of("q", "x"));
                assertThat(redis.command("BLPOP", "q", "0.01")).as("nil array on timeout").isNull();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aKeptConnectionKilledWhileIdleIsReplacedWithoutAnError() {
        try (RedisServer redis = RedisServer.start()) {
            assertThat(redis.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")).isEqualTo(1L);
            assertThat(redis.command("PING")).isEqualTo("PONG");
            assertThat(clientsNamed(redis, RedisServer.CLIENT_NAME)).isEqualTo(1);
        }
    }

    @Test
    void anInterruptedThreadStillGetsItsReplyAndStaysInterrupted() {
        try (RedisServer redis = RedisServer.start()) {
            Thread.currentThread().interrupt();
            try {
                assertThat(redis.command("PING")).isEqualTo("PONG");
                assertThat(Thread.currentThread().isInterrupted()).isTrue();
            } finally {
                Thread.interrupted();
            }
        }
    }

    private static long clientsNamed(RedisServer redis, String name) {
        return ((String) redis.command("CLIENT", "LIST")).lines().filter(l -> l.contains(" name=" + name + " ")).count();
    }

    private static long clientsBlocked(RedisServer redis) {
        String info = (String) redis.command("INFO", "clients");
        return info.lines().filter(l -> l.startsWith("blocked_clients:"))
                .mapToLong(l -> Long.parseLong(l.substring(l.indexOf(':') + 1).trim())).findFirst().orElse(0);
    }

    private static List<String> threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith(prefix)).toList();
    }

    @Test
    void shutdownHookKillsTheServerWhenTheJvmExitsWithoutClose() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                LeakingMain.class.getName())
                .redirectErrorStream(true)
                .start();
        try {
            Map<String, String> reported = new HashMap<>();
            StringBuilder output = new StringBuilder();
            try (BufferedReader reader = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    output.append(line).append('\n');
                    int eq = line.indexOf('=');
                    if (eq > 0) {
                        reported.put(line.substring(0, eq), line.substring(eq + 1));
                    }
                }
            }
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(reported).as("child output:\n%s", output).containsKeys("pid", "dir");
            long pid = Long.parseLong(reported.get("pid"));
            assertThat(isGone(pid)).as("redis-server pid %s after the JVM exited", pid).isTrue();
            assertThat(Path.of(reported.get("dir"))).doesNotExist();
        } finally {
            child.destroyForcibly();
        }
    }

    /** Started in a child JVM: starts a server and exits without closing it. */
    static final class LeakingMain {
        public static void main(String[] args) {
            RedisServer redis = RedisServer.start();
            System.out.println("pid=" + redis.pid());
            System.out.println("dir=" + redis.directory());
            System.out.flush();
            System.exit(0);
        }
    }

    private static boolean isGone(long pid) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
            Path stat = Path.of("/proc", Long.toString(pid), "stat");
            boolean zombie = alive && Files.exists(stat) && Files.readString(stat).replaceFirst("^.*\\) ", "").startsWith("Z");
            if (!alive || zombie) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
    }

    private static String rawCommand(int port, String command) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5_000);
            OutputStream out = socket.getOutputStream();
            out.write((command + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder line = new StringBuilder();
            int b;
            while ((b = in.read()) != -1 && b != '\r') {
                line.append((char) b);
            }
            return line.toString();
        }
    }
}
