package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.platform.Processes;
import canary.platform.SharedClasses;

/** Class data sharing for the kit's child JVMs: a real JVM records its classes, a real helper archives them, a real JVM uses them. */
class SharedClassesTest {

    private static final String MAIN = ChildProcesses.Exiter.class.getName();

    @TempDir
    Path dir;

    @Test
    void a_class_path_with_a_folder_gets_no_options_and_no_archive() throws IOException {
        Path jar = appJar();
        String cp = Files.createDirectories(dir.resolve("classes")) + java.io.File.pathSeparator + jar;
        assertEquals(List.of(), SharedClasses.options(cp, MAIN));
        assertTrue(SharedClasses.archive(cp, MAIN).isEmpty());
        assertTrue(SharedClasses.archive(jar.toString(), MAIN).isPresent(), "a class path of jars can have one");
    }

    @Test
    void the_first_run_records_its_classes_a_helper_archives_them_once_settled_later_runs_start_from_the_archive_and_a_rebuild_replaces_it() throws Exception {
        String cp = appJar().toString();
        Path archive = SharedClasses.archive(cp, MAIN).orElseThrow();

        List<String> first = SharedClasses.options(cp, MAIN);
        assertTrue(first.stream().anyMatch(o -> o.startsWith("-XX:DumpLoadedClassList=")), first.toString());
        assertEquals(0, run(first, cp).exit);
        Path list = Path.of(first.stream().filter(o -> o.startsWith("-XX:DumpLoadedClassList=")).findFirst().orElseThrow().split("=", 2)[1]);
        assertTrue(Files.readString(list).contains(MAIN.replace('.', '/')), "the list names the main class");

        // Just written: the list may still grow, so no helper starts and the JVM runs as it is.
        assertEquals(List.of(), SharedClasses.options(cp, MAIN));
        assertFalse(Files.exists(archive));
        assertEquals(List.of(), siblings(archive, ".dumping"), "no helper claimed the archive");

        // Settled (no JVM wrote to it for 10 s): the next start sets the helper off and runs without an archive meanwhile.
        Files.setLastModifiedTime(list, FileTime.from(Instant.now().minusSeconds(11)));
        assertEquals(List.of(), SharedClasses.options(cp, MAIN));
        Waits.until("the helper made " + archive, Duration.ofSeconds(120), Waits.quiet(), () -> Files.isRegularFile(archive));

        List<String> later = SharedClasses.options(cp, MAIN);
        assertTrue(later.contains("-XX:SharedArchiveFile=" + archive), later.toString());
        List<String> withLog = new ArrayList<>(later);
        withLog.add("-Xlog:class+load=info");
        Run r = run(withLog, cp);
        assertEquals(0, r.exit, r.out);
        assertTrue(r.out.contains(MAIN + " source: shared objects file"), "the main class came from the archive:\n" + r.out);

        Waits.until("the helper cleaned up", Duration.ofSeconds(30), Waits.quiet(),
                () -> siblings(archive, ".classlist").isEmpty() && siblings(archive, ".dumping").isEmpty() && siblings(archive, ".tmp").isEmpty());
        assertEquals(List.of(), siblings(archive, ".failed"));

        // The jar rebuilt: its first run records again, its archive replaces the earlier build's.
        Files.setLastModifiedTime(Path.of(cp), FileTime.from(Instant.now().plusSeconds(5)));
        Path rebuilt = SharedClasses.archive(cp, MAIN).orElseThrow();
        assertNotEquals(archive, rebuilt);
        assertEquals(0, run(SharedClasses.options(cp, MAIN), cp).exit);
        assertTrue(SharedClasses.awaitArchive(cp, MAIN, Duration.ofSeconds(120)), "the rebuilt jar's archive was made");
        assertTrue(Files.isRegularFile(rebuilt));
        Waits.until("the earlier build's archive is gone", Duration.ofSeconds(30), Waits.quiet(), () -> !Files.exists(archive));
    }

    /** The test classes in a jar of their own: a class path of jars only, as under JBang. */
    private Path appJar() throws IOException {
        Path classes = Path.of(ChildProcesses.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        Path jar = Files.createDirectories(dir.resolve("app")).resolve("app.jar");
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(os);
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("ChildProcesses")).toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                out.write(Files.readAllBytes(f));
                out.closeEntry();
            }
        }
        return jar;
    }

    private record Run(int exit, String out) {
    }

    private static Run run(List<String> options, String cp) throws Exception {
        List<String> argv = new ArrayList<>(List.of(Processes.javaBinary(), "-Xmx256m", "-XX:+UseSerialGC"));
        argv.addAll(options);
        argv.addAll(List.of("-cp", cp, MAIN, "0"));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out);
    }

    private static List<Path> siblings(Path archive, String suffix) {
        String base = archive.getFileName().toString().replace(".jsa", "");
        try (Stream<Path> s = Files.list(archive.getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith(base) && p.getFileName().toString().endsWith(suffix)).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
