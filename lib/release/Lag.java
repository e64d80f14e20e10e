package canary.release;

import java.util.Map;

/** Lag and counts per partition, summed and described for people. */
public final class Lag {

    private Lag() {
    }

    public static long total(Map<Integer, Long> perPartition) {
        return perPartition.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Describes what lag is left ("legacy lag 12 (p0=5, p3=7)"), or returns null when there is none. */
    public static String remaining(String who, Map<Integer, Long> lag) {
        StringBuilder sb = new StringBuilder();
        lag.forEach((p, l) -> {
            if (l > 0) {
                sb.append(sb.length() == 0 ? "" : ", ").append("p").append(p).append("=").append(l);
            }
        });
        return sb.length() == 0 ? null : who + " lag " + total(lag) + " (" + sb + ")";
    }
}
