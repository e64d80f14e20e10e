package canary.platform;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command to completion: no shell, input from {@code /dev/null}, output appended to a log
 * file, killed with its children when it runs longer than its timeout. The context's start/stop
 * commands of a version and the rollout's probe run through it.
 */
public final class Commands {

    private Commands() {
    }

    /** How a command ended: its exit code (null when it did not finish in time) and the last line it wrote. */
    public record Finished(Integer exitCode, String lastLine) {
        public boolean timedOut() {
            return exitCode == null;
        }
    }

    /**
     * Runs {@code argv} in {@code dir}.
     *
     * @throws IOException when the command cannot be started (a wrong path) or the log not written
     */
    public static Finished run(List<String> argv, Path dir, Path log, Duration timeout) throws IOException, InterruptedException {
        return run(argv, dir, log, timeout, java.util.Map.of());
    }

    /** As {@link #run(List, Path, Path, Duration)} with {@code extraEnv} added to the command's environment. */
    public static Finished run(List<String> argv, Path dir, Path log, Duration timeout, java.util.Map<String, String> extraEnv)
            throws IOException, InterruptedException {
        Files.createDirectories(log.toAbsolutePath().getParent());
        long before = Files.exists(log) ? Files.size(log) : 0;
        ProcessBuilder builder = new ProcessBuilder(argv);
        builder.environment().putAll(extraEnv);
        Process p = builder.directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        Integer code = null;
        if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            code = p.exitValue();
        } else {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        return new Finished(code, lastLine(log, before));
    }

    /** The last non-blank line written to {@code log} after {@code from}, at most 200 characters. */
    static String lastLine(Path log, long from) throws IOException {
        String text;
        try (SeekableByteChannel ch = Files.newByteChannel(log)) {
            long size = ch.size();
            long start = Math.max(from, size - 64 * 1024);
            if (size <= start) {
                return "";
            }
            ByteBuffer buf = ByteBuffer.allocate((int) (size - start));
            ch.position(start);
            while (buf.hasRemaining() && ch.read(buf) > 0) {
                // this run's output (its last 64 KiB at most)
            }
            text = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        }
        List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        String last = lines.isEmpty() ? "" : lines.get(lines.size() - 1).strip();
        return last.length() > 200 ? last.substring(0, 200) + "..." : last;
    }
}
