package canary.platform;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Class data sharing for the kit's own child JVMs (the router above all: a router restarted by its supervisor, or started by
 * migration.java, routes sooner when it does not load and verify its few thousand classes one by one).
 *
 * <p>A JVM started from an archive whose writing was cut short can crash (SIGBUS) instead of ignoring it, so an archive is
 * only ever used once it is known complete: the first run of a main class records the classes it loads
 * ({@code -XX:DumpLoadedClassList}, a text file that is safe to read at any time); once that list has stopped growing, a
 * detached helper ({@link #main}) dumps a static archive from it under a temporary name and renames it into place only when
 * the dump succeeded. From then on every JVM of that main class starts with {@code -XX:SharedArchiveFile}.
 *
 * <p>Archives live next to the first jar of the class path ({@code ~/.jbang/cache/jars/<script>.<hash>/} under JBang), keyed by
 * the Java binary and version, the main class and every class path entry's size and modification time: a rebuilt jar gets a new
 * archive, and a JVM that finds its archive unusable anyway starts without one (the JVM's own check; its warnings are off).
 * A class path with a directory in it (Maven's test runs) cannot be archived and gets no options. {@code CANARY_SHARED_CLASSES=off}
 * turns it all off.
 */
public final class SharedClasses {

    /** A class list whose file has not changed for this long is taken as the classes the main class needs to start. */
    static final Duration SETTLED = Duration.ofSeconds(10);
    /** A claim to dump older than this was left by a helper that died: it is taken over. */
    static final Duration STALE_CLAIM = Duration.ofMinutes(10);
    /** The JVM options of every kit child that decide the archive's layout (heap size and collector). */
    static final List<String> HEAP_OPTIONS = List.of("-Xmx256m", "-XX:+UseSerialGC");
    /** The JVM says nothing about archives: a mismatch only means starting without one. */
    private static final List<String> QUIET = List.of("-Xlog:cds=off", "-Xlog:cds+dynamic=off");

    private SharedClasses() {
    }

    /** Where the files of one main class on one class path go: {@code <base>.jsa}, {@code <base>.<id>.classlist}, ... */
    record Layout(Path dir, String base) {
        Path archive() {
            return dir.resolve(base + ".jsa");
        }

        Path claim() {
            return dir.resolve(base + ".dumping");
        }

        Path log() {
            return dir.resolve(base + ".log");
        }

        /** Left by a dump that failed: no JVM records a class list or starts a helper for this archive again. */
        Path failed() {
            return dir.resolve(base + ".failed");
        }

        Path newList() {
            return dir.resolve(base + "." + UUID.randomUUID() + ".classlist");
        }

        List<Path> lists() {
            try (Stream<Path> s = Files.list(dir)) {
                return s.filter(p -> {
                    String n = p.getFileName().toString();
                    return n.startsWith(base + ".") && n.endsWith(".classlist");
                }).toList();
            } catch (IOException e) {
                return List.of();
            }
        }
    }

    /** The options that start a JVM of {@code mainClass} on {@code classPath} from its archive, or make one possible later. */
    public static List<String> options(String classPath, String mainClass) {
        return options(classPath, mainClass, SETTLED);
    }

    static List<String> options(String classPath, String mainClass, Duration settled) {
        if ("off".equalsIgnoreCase(System.getenv("CANARY_SHARED_CLASSES"))) {
            return List.of();
        }
        Optional<Layout> where = where(classPath, mainClass);
        if (where.isEmpty()) {
            return List.of();
        }
        Layout f = where.get();
        if (Files.isRegularFile(f.archive())) {
            List<String> o = new ArrayList<>(QUIET);
            o.add("-XX:SharedArchiveFile=" + f.archive());
            return o;
        }
        if (Files.exists(f.failed())) {
            return List.of();
        }
        List<Path> lists = f.lists();
        if (lists.isEmpty()) {
            List<String> o = new ArrayList<>(QUIET);
            o.add("-XX:DumpLoadedClassList=" + f.newList());
            return o;
        }
        Optional<Path> ready = settledList(lists, settled);
        if (ready.isPresent() && claim(f)) {
            startDumper(f, ready.get(), classPath);
        }
        return List.of();
    }

    /**
     * Makes the archive of {@code mainClass} now if a settled class list is there and no archive is, and waits for it (at most
     * {@code timeout}). Whether an archive is there at the end.
     */
    public static boolean awaitArchive(String classPath, String mainClass, Duration timeout) {
        Optional<Layout> where = where(classPath, mainClass);
        if (where.isEmpty()) {
            return false;
        }
        Layout f = where.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.isRegularFile(f.archive()) && !Files.exists(f.failed()) && System.nanoTime() < deadline) {
            options(classPath, mainClass, Duration.ZERO);
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return Files.isRegularFile(f.archive());
    }

    /** The archive's file for {@code mainClass} on {@code classPath}, if that class path can have one. */
    public static Optional<Path> archive(String classPath, String mainClass) {
        return where(classPath, mainClass).map(Layout::archive);
    }

    static Optional<Layout> where(String classPath, String mainClass) {
        List<Path> entries = new ArrayList<>();
        for (String e : classPath.split(java.io.File.pathSeparator)) {
            if (e.isEmpty()) {
                continue;
            }
            Path p = Path.of(e);
            if (!Files.isRegularFile(p) || !p.getFileName().toString().endsWith(".jar")) {
                return Optional.empty();
            }
            entries.add(p.toAbsolutePath());
        }
        if (entries.isEmpty()) {
            return Optional.empty();
        }
        Path dir = entries.get(0).getParent();
        if (dir == null || !Files.isWritable(dir)) {
            return Optional.empty();
        }
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            update(md, Processes.javaBinary());
            update(md, System.getProperty("java.vm.version", ""));
            update(md, mainClass);
            update(md, String.join(" ", HEAP_OPTIONS));
            for (Path p : entries) {
                update(md, p + ":" + Files.size(p) + ":" + Files.getLastModifiedTime(p).toMillis());
            }
            String simple = mainClass.substring(mainClass.lastIndexOf('.') + 1);
            return Optional.of(new Layout(dir, "cds-" + simple + "-" + HexFormat.of().formatHex(md.digest(), 0, 8)));
        } catch (IOException e) {
            return Optional.empty();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(MessageDigest md, String s) {
        md.update(s.getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
    }

    /** The largest list no JVM has written to for {@code settled}. */
    private static Optional<Path> settledList(List<Path> lists, Duration settled) {
        Instant before = Instant.now().minus(settled);
        return lists.stream().filter(p -> {
            try {
                return Files.getLastModifiedTime(p).toInstant().isBefore(before) || settled.isZero();
            } catch (IOException e) {
                return false;
            }
        }).max(Comparator.comparingLong(p -> {
            try {
                return Files.size(p);
            } catch (IOException e) {
                return 0L;
            }
        }));
    }

    /** One dumper per archive: the claim is a file made with CREATE_NEW; one left by a dead helper is taken over. */
    private static boolean claim(Layout f) {
        try {
            Files.createFile(f.claim());
            return true;
        } catch (FileAlreadyExistsException e) {
            try {
                FileTime t = Files.getLastModifiedTime(f.claim());
                if (t.toInstant().isBefore(Instant.now().minus(STALE_CLAIM))) {
                    Files.deleteIfExists(f.claim());
                    Files.createFile(f.claim());
                    return true;
                }
            } catch (IOException ignored) {
                // another JVM took it over first
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private static void startDumper(Layout f, Path list, String classPath) {
        List<String> argv = new ArrayList<>(List.of(Processes.javaBinary(), "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", Processes.absoluteClassPath(System.getProperty("java.class.path")), SharedClasses.class.getName(),
                f.dir().toString(), f.base(), list.toString(), classPath));
        try {
            new ProcessBuilder(Processes.detached(argv)).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(f.log().toFile()))
                    .redirectInput(Processes.nullInput()).start();
        } catch (IOException e) {
            try {
                Files.deleteIfExists(f.claim());
            } catch (IOException ignored) {
                // the claim goes stale and is taken over later
            }
        }
    }

    /**
     * The detached helper: {@code <dir> <base> <class list> <class path>}. Dumps the archive of the class list under a temporary name,
     * renames it into place when the dump succeeded, then removes the class lists and its claim.
     */
    public static void main(String[] args) throws Exception {
        Layout f = new Layout(Path.of(args[0]), args[1]);
        Path list = Path.of(args[2]);
        String classPath = args[3];
        Path complete = f.dir().resolve(f.base() + "." + UUID.randomUUID() + ".lines");
        Path tmp = f.dir().resolve(f.base() + "." + UUID.randomUUID() + ".jsa.tmp");
        try {
            // Only whole lines: the list's writer may have been killed in the middle of one.
            String text = Files.readString(list, StandardCharsets.UTF_8);
            int end = text.lastIndexOf('\n');
            Files.writeString(complete, end < 0 ? "" : text.substring(0, end + 1), StandardCharsets.UTF_8);
            List<String> argv = new ArrayList<>(List.of(Processes.javaBinary(), "-Xshare:dump"));
            argv.addAll(HEAP_OPTIONS);
            argv.addAll(List.of("-XX:SharedClassListFile=" + complete, "-XX:SharedArchiveFile=" + tmp, "-cp", classPath));
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                fail(f, "the dump of " + f.archive() + " did not end in 5 minutes");
            } else if (p.exitValue() != 0) {
                fail(f, "the dump of " + f.archive() + " failed (exit " + p.exitValue() + ")");
            } else {
                try {
                    Files.move(tmp, f.archive(), StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, f.archive());
                }
                System.out.println(Instant.now() + " made " + f.archive() + " from " + list);
                for (Path l : f.lists()) {
                    Files.deleteIfExists(l);
                }
                removeOlderArchives(f);
            }
        } catch (IOException e) {
            fail(f, "cannot make " + f.archive() + ": " + e.getMessage());
            throw new UncheckedIOException(e);
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(complete);
            Files.deleteIfExists(f.claim());
        }
    }

    /**
     * Removes the archives of the same main class made for an earlier build of the jar in this folder (a JVM still running
     * from one keeps its mapping).
     */
    private static void removeOlderArchives(Layout f) throws IOException {
        String prefix = f.base().substring(0, f.base().lastIndexOf('-') + 1);
        try (Stream<Path> s = Files.list(f.dir())) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(prefix) && n.endsWith(".jsa") && !p.equals(f.archive())) {
                    Files.deleteIfExists(p);
                    System.out.println(Instant.now() + " removed " + p + " (an earlier build's)");
                }
            }
        }
    }

    private static void fail(Layout f, String why) throws IOException {
        System.out.println(Instant.now() + " " + why + "; the JVMs of this main class start without an archive");
        Files.writeString(f.failed(), why + "\n");
    }
}
