package canary.common;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Bounded waits: poll with backoff until a condition holds or the timeout passes, and say what is
 * being waited for while waiting. Never a bare sleep.
 */
public final class Waits {

    private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);
    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

    private Waits() {
    }

    /** Where progress lines go. */
    public interface Progress extends Consumer<String> {
    }

    public static Progress quiet() {
        return line -> { };
    }

    public static Progress to(PrintWriter out) {
        return line -> {
            out.println(line);
            out.flush();
        };
    }

    /** Waits until {@code condition} holds. */
    public static void until(String what, Duration timeout, Progress progress, BooleanSupplier condition) {
        untilNothingLeft(what, timeout, progress, () -> condition.getAsBoolean() ? null : "");
    }

    /**
     * Waits until {@code remaining} returns {@code null}; otherwise it returns what is left (for
     * example "lag 12 on partition 3"), printed when it changes and every few seconds.
     *
     * @return the time waited
     * @throws WaitTimeoutException when the timeout passes first
     */
    public static Duration untilNothingLeft(String what, Duration timeout, Progress progress, Supplier<String> remaining) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        long backoff = FIRST_BACKOFF.toMillis();
        String lastShown = null;
        long lastShownAt = start;
        while (true) {
            String left = remaining.get();
            long now = System.nanoTime();
            if (left == null) {
                Duration waited = Duration.ofNanos(now - start);
                if (lastShown != null) {
                    progress.accept("  done: " + what + " (after " + Durations.format(waited) + ")");
                }
                return waited;
            }
            if (now - deadline >= 0) {
                throw new WaitTimeoutException("timed out after " + Durations.format(timeout) + " waiting until " + what
                        + (left.isEmpty() ? "" : " (still " + left + ")") + "; raise --timeout or check the cause");
            }
            if (!left.isEmpty() && (!Objects.equals(left, lastShown) || now - lastShownAt >= PROGRESS_EVERY.toNanos())) {
                progress.accept("  waiting until " + what + ": " + left);
                lastShown = left;
                lastShownAt = now;
            }
            long sleep = Math.min(backoff, Math.max(1, (deadline - now) / 1_000_000));
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UserException(3, "interrupted while waiting until " + what);
            }
            backoff = Math.min(MAX_BACKOFF.toMillis(), backoff * 3 / 2);
        }
    }

    /**
     * Like {@link #untilNothingLeft}, for a step that blocks by itself (a consumer poll): no pause
     * between steps, so reading a large topic goes as fast as the broker serves it.
     */
    public static void whileWorking(String what, Duration timeout, Supplier<String> step) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String left = step.get();
            if (left == null) {
                return;
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new WaitTimeoutException("timed out after " + Durations.format(timeout) + " waiting until " + what
                        + (left.isEmpty() ? "" : " (still " + left + ")") + "; raise --timeout or check the cause");
            }
        }
    }

    /** A bounded wait ran out of time. */
    public static final class WaitTimeoutException extends UserException {
        public WaitTimeoutException(String message) {
            super(3, message);
        }
    }
}
