package canary.common;

/** Text as the kit shows it to people. */
public final class Text {

    private Text() {
    }

    /** The first non-blank line of a message, trimmed; "" for null or blank. Library messages can span pages. */
    public static String firstLine(String text) {
        if (text == null) {
            return "";
        }
        for (String line : text.split("\\R")) {
            if (!line.isBlank()) {
                return line.trim();
            }
        }
        return "";
    }

    /** A share as operators write it: 10 %, 50 %, 12.50 %. */
    public static String percent(double share) {
        double pct = share * 100.0;
        return (pct == Math.rint(pct) ? String.valueOf((long) pct) : String.format(java.util.Locale.ROOT, "%.2f", pct)) + " %";
    }
}
