package canary.common;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as operators write them: {@code 90s}, {@code 5m}, {@code 1h30m}, {@code 250ms}. */
public final class Durations {

    private static final Pattern PART = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");
    /** The longest duration accepted: waits and holds beyond a year are typing mistakes (and overflow nanosecond clocks). */
    static final Duration MAX = Duration.ofDays(365);

    private Durations() {
    }

    public static Duration parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("expected a duration such as 30s, 5m or 1h30m, got an empty value");
        }
        Matcher m = PART.matcher(t);
        Duration total = Duration.ZERO;
        int at = 0;
        while (m.find()) {
            if (m.start() != at) {
                break;
            }
            long n = Long.parseLong(m.group(1));
            total = total.plus(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
            at = m.end();
        }
        if (at != t.length() || at == 0) {
            throw new IllegalArgumentException("expected a duration such as 30s, 5m or 1h30m, got '" + text + "'");
        }
        if (total.compareTo(MAX) > 0) {
            throw new IllegalArgumentException("expected a duration of at most " + compact(MAX) + ", got '" + text + "'");
        }
        return total;
    }

    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + " ms";
        }
        if (ms < 120_000) {
            long tenths = Math.round(ms / 100.0);
            return (tenths % 10 == 0 ? String.valueOf(tenths / 10) : (tenths / 10) + "." + (tenths % 10)) + " s";
        }
        long s = d.toSeconds();
        if (s < 7200) {
            return (s / 60) + " min" + (s % 60 == 0 ? "" : " " + (s % 60) + " s");
        }
        return (s / 3600) + " h" + ((s % 3600) / 60 == 0 ? "" : " " + (s % 3600) / 60 + " min");
    }

    /** A duration as operators write it in a plan or an option: 1h30m, 10m, 45s, 2d, 0s (below a second: rounded down). */
    public static String compact(Duration d) {
        long s = Math.max(0, d.toSeconds());
        StringBuilder sb = new StringBuilder();
        if (s >= 86_400 && s % 86_400 == 0) {
            return (s / 86_400) + "d";
        }
        if (s >= 3600) {
            sb.append(s / 3600).append('h');
        }
        if (s % 3600 >= 60) {
            sb.append((s % 3600) / 60).append('m');
        }
        if (s % 60 != 0 || sb.length() == 0) {
            sb.append(s % 60).append('s');
        }
        return sb.toString();
    }
}
