package canary.platform;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import canary.common.AtomicFile;
import canary.common.UserException;

/**
 * The kit's state folder ({@code state_dir}): pid files, logs, the local broker's data, the host
 * lock, client files, a cloud context's Terraform state ({@code terraform/}). The kit marks a folder
 * it creates with {@value #MARKER}, and teardown deletes only what the kit puts there, only in a
 * folder it marked, and never the root, the home folder or a folder holding the context file.
 */
public final class StateDir {

    /** The file that says the kit created the folder. */
    public static final String MARKER = ".canary-router";
    /** What the kit writes in the folder, besides {@code <context>.lock} files. */
    static final Set<String> ENTRIES = Set.of("pids", "logs", "kafka", "processed", "supervision", "health", Terraform.CLIENT_PROPERTIES, Terraform.KSQLDB_ENV,
            "." + Terraform.CLIENT_PROPERTIES + ".tmp", "." + Terraform.KSQLDB_ENV + ".tmp", Terraform.STATE_FOLDER, MARKER);

    private StateDir() {
    }

    /**
     * Creates the folder unless it exists, marked as the kit's.
     *
     * @return the outermost folder this call created (the folder itself, or a parent that did not exist either), empty when the
     *         folder existed; {@link #removeIfUnused} takes it to undo the creation
     */
    public static Optional<Path> ensure(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        try {
            if (Files.isDirectory(d)) {
                return Optional.empty();
            }
            Path outermost = d;
            while (outermost.getParent() != null && !Files.exists(outermost.getParent())) {
                outermost = outermost.getParent();
            }
            Files.createDirectories(d);
            AtomicFile.write(d.resolve(MARKER), "created by canary-router at " + Instant.now()
                    + "; teardown deletes what the kit wrote here, and the folder when nothing else is left\n");
            return Optional.of(outermost);
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot create the state folder " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Undoes {@link #ensure}: when nothing but the marker is in the folder, deletes the marker, the folder and the parents
     * {@code ensure} created up to {@code outermost}, each only while it is empty. A folder that something was written to
     * meanwhile (another command of the kit) stays, marked.
     *
     * @return whether the folder is gone
     */
    public static boolean removeIfUnused(Path dir, Path outermost) {
        Path d = dir.toAbsolutePath().normalize();
        try {
            if (!Files.isDirectory(d)) {
                return true;
            }
            if (!onlyMarker(d)) {
                return false;
            }
            Path marker = d.resolve(MARKER);
            String text = Files.readString(marker);
            Files.deleteIfExists(marker);
            try {
                Files.deleteIfExists(d);
            } catch (DirectoryNotEmptyException e) {
                AtomicFile.write(marker, text); // another command just wrote here: the folder is the kit's and in use
                return false;
            }
            for (Path p = d.getParent(); p != null && p.startsWith(outermost); p = p.getParent()) {
                try {
                    Files.deleteIfExists(p);
                } catch (DirectoryNotEmptyException e) {
                    break;
                }
            }
            return true;
        } catch (IOException e) {
            return false; // left as it is: the folder is marked, teardown deletes it
        }
    }

    private static boolean onlyMarker(Path dir) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (!p.getFileName().toString().equals(MARKER)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Refuses, with one line, to delete in a folder the kit must not touch; nothing is deleted. */
    public static void checkDeletable(Path dir, Path contextFolder) {
        Path d = dir.toAbsolutePath().normalize();
        Path home = Path.of(System.getProperty("user.home", "/")).toAbsolutePath().normalize();
        String refuse = "teardown refuses to delete in state_dir " + d + ": ";
        if (d.getParent() == null) {
            throw new UserException(refuse + "it is the root folder; set state_dir to a folder of its own (for example etc)");
        }
        if (d.equals(home)) {
            throw new UserException(refuse + "it is the home folder; set state_dir to a folder of its own (for example etc)");
        }
        if (contextFolder.toAbsolutePath().normalize().startsWith(d)) {
            throw new UserException(refuse + "it holds the context file; set state_dir to a folder of its own (for example etc)");
        }
        if (Files.isDirectory(d) && !Files.exists(d.resolve(MARKER))) {
            throw new UserException(refuse + "the kit did not create it (no " + MARKER + " in it); delete what you no longer need by hand");
        }
    }

    /**
     * Deletes what the kit wrote in the folder, then the folder if nothing else is left.
     *
     * @return whether the folder itself was deleted (false: other files are left, listed by {@link #others})
     */
    public static boolean delete(Path dir, Path contextFolder) {
        checkDeletable(dir, contextFolder);
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try {
            // A Terraform state of live resources stays, and so does the marker: the folder remains the kit's, and the
            // teardown of the cloud context it belongs to can delete it once it destroyed them.
            boolean liveState = Terraform.holdsResources(dir.resolve(Terraform.STATE_FOLDER).resolve(Terraform.STATE_FILE));
            for (Path p : kitEntries(dir)) {
                if (!(liveState && p.getFileName().toString().equals(MARKER))) {
                    deleteTree(p);
                }
            }
            if (!others(dir).isEmpty()) {
                return false;
            }
            Files.deleteIfExists(dir);
            return true;
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot delete in " + dir + ": " + e.getMessage());
        }
    }

    /** The folders named after processes: their files are {@code <name>.pid}, {@code <name>.json}, {@code <name>.log}. */
    private static final List<String> PER_PROCESS = List.of("pids", "supervision", "logs", "health");

    /** The names of the processes that have a file in the folder (pid file, supervision record, log, health), sorted, once each. */
    public static List<String> namesIn(Path dir) {
        java.util.TreeSet<String> names = new java.util.TreeSet<>();
        for (String sub : PER_PROCESS) {
            Path d = dir.resolve(sub);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
                for (Path p : s) {
                    String name = processName(p);
                    if (name != null && Files.isRegularFile(p)) {
                        names.add(name);
                    }
                }
            } catch (IOException e) {
                throw new UserException(UserException.ENVIRONMENT, "cannot list " + d + ": " + e.getMessage());
            }
        }
        return new ArrayList<>(names);
    }

    /**
     * The process a per-process file is named after ({@code <name>.pid}, {@code <name>.json}, {@code <name>.log}), also for the
     * temporary file of a write that was under way ({@code .<name>.json.tmp}, see AtomicFile); null for other files.
     */
    static String processName(Path file) {
        String f = file.getFileName().toString();
        if (f.startsWith(".") && f.endsWith(".tmp")) {
            f = f.substring(1, f.length() - ".tmp".length());
        }
        int dot = f.lastIndexOf('.');
        return dot > 0 ? f.substring(0, dot) : null;
    }

    /**
     * Deletes one context's files in a folder other contexts share: those of the processes {@code own} accepts the name of, and
     * the processed-record files of {@code groups}. The folder, its marker and everything else stay.
     */
    public static void deleteOwn(Path dir, Path contextFolder, java.util.function.Predicate<String> own, List<String> groups) {
        checkDeletable(dir, contextFolder);
        try {
            for (String sub : PER_PROCESS) {
                Path d = dir.resolve(sub);
                if (!Files.isDirectory(d)) {
                    continue;
                }
                List<Path> mine = new ArrayList<>();
                try (DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
                    for (Path p : s) {
                        String name = processName(p);
                        if (name != null && own.test(name)) {
                            mine.add(p);
                        }
                    }
                }
                for (Path p : mine) {
                    Files.deleteIfExists(p);
                }
            }
            for (String g : groups) {
                Files.deleteIfExists(dir.resolve("processed").resolve(g + ".tsv"));
            }
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot delete in " + dir + ": " + e.getMessage());
        }
    }

    /** What in the folder is not the kit's. */
    public static List<Path> others(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (!isKits(p)) {
                    out.add(p);
                }
            }
        }
        out.sort(null);
        return out;
    }

    private static List<Path> kitEntries(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (isKits(p)) {
                    out.add(p);
                }
            }
        }
        // the marker last: a teardown interrupted part-way can run again
        out.sort(Comparator.comparing(p -> p.getFileName().toString().equals(MARKER) ? 1 : 0));
        return out;
    }

    /**
     * What the kit wrote. The Terraform folder counts only once its state holds no resources (destroyed, or never
     * applied): a state of live Confluent Cloud resources is never deleted, not even by the teardown of another
     * context that shares the folder.
     */
    private static boolean isKits(Path p) {
        String name = p.getFileName().toString();
        if (name.equals(Terraform.STATE_FOLDER)) {
            return !Terraform.holdsResources(p.resolve(Terraform.STATE_FILE));
        }
        return ENTRIES.contains(name) || name.endsWith(".lock") && Files.isRegularFile(p);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }
}
