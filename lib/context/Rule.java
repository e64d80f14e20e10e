package canary.context;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonValue;

import canary.common.UserException;
import canary.common.Words;

/**
 * A match rule, decided before the share: records it matches go {@code to} one version whatever the
 * share and the routing say ("friends and family first", or a customer pinned to the legacy version).
 * Written the same way in the context file, on the command line, in rollout steps and in status:
 * <pre>
 *   header:tenant=beta,internal    the last header 'tenant' is one of these values (UTF-8 text)
 *   key:acct-42,acct-43            the key is one of these (UTF-8 text)
 *   key-prefix:test-,qa-           the key starts with one of these
 *   legacy:key-prefix:vip-         the same, pinned to the legacy version (a leading "new:" is the default)
 * </pre>
 * A record that a legacy rule matches stays on legacy even when a new rule matches it too. Values
 * are separated by commas, so a value cannot contain one. In the state a rule is a typed record:
 * {@code {"to": "new", "match": "header", "header": "tenant", "values": ["beta"]}}.
 *
 * @param header the header's name (match {@code header} only, else null)
 */
public record Rule(Role to, Match match, String header, List<String> values) {

    /** What a rule looks at. */
    public enum Match {
        /** The value of the record's last header with the given name. */
        HEADER("header"),
        /** The whole key. */
        KEY("key"),
        /** The beginning of the key. */
        KEY_PREFIX("key-prefix");

        private final String word;

        Match(String word) {
            this.word = word;
        }

        @JsonValue
        public String word() {
            return word;
        }

        @JsonCreator
        public static Match of(String word) {
            return Words.find(values(), Match::word, word)
                    .orElseThrow(() -> new IllegalArgumentException("unknown rule match '" + word + "': expected header, key or key-prefix"));
        }
    }

    /** How a rule is written, for messages. */
    public static final String EXPECTED = "header:NAME=VALUE[,VALUE...], key:KEY[,KEY...] or key-prefix:PREFIX[,PREFIX...],"
            + " optionally after legacy: (pin to the legacy version)";

    public Rule {
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(match, "match");
        values = List.copyOf(values);
    }

    /** Parses one rule as written on the command line and in the context file; a mistake is one line saying what is expected. */
    @JsonIgnore
    public static Rule parse(String text) {
        String t = text == null ? "" : text.trim();
        Role to = Role.NEW;
        for (Role r : Role.values()) {
            if (t.startsWith(r.word() + ":")) {
                to = r;
                t = t.substring(r.word().length() + 1).trim();
                break;
            }
        }
        int colon = t.indexOf(':');
        if (colon <= 0) {
            throw bad(text, "expected " + EXPECTED);
        }
        String written = t.substring(0, colon).trim();
        String rest = t.substring(colon + 1);
        Match match = Words.find(Match.values(), Match::word, written.toLowerCase(Locale.ROOT))
                .orElseThrow(() -> bad(text, "unknown match '" + written + "': expected " + EXPECTED));
        String header = null;
        if (match == Match.HEADER) {
            int eq = rest.indexOf('=');
            if (eq < 0) {
                throw bad(text, "a header rule needs a name and values: header:NAME=VALUE[,VALUE...]");
            }
            header = rest.substring(0, eq).trim();
            rest = rest.substring(eq + 1);
            if (header.isEmpty()) {
                throw bad(text, "the header name is empty: header:NAME=VALUE[,VALUE...]");
            }
        }
        List<String> values = new ArrayList<>();
        for (String v : rest.split(",", -1)) {
            String value = v.trim();
            if (value.isEmpty()) {
                throw bad(text, "an empty value (values are separated by commas and cannot be empty"
                        + (match == Match.KEY_PREFIX ? "; an empty prefix would match every record: use share 100 % instead" : "") + ")");
            }
            values.add(value);
        }
        Set<String> distinct = new LinkedHashSet<>(values);
        if (distinct.size() != values.size()) {
            throw bad(text, "a value is given twice");
        }
        return new Rule(to, match, header, values);
    }

    /** Parses rules and refuses two that contradict each other (a record both pinned to legacy and sent to new). */
    public static List<Rule> parseAll(Collection<String> texts) {
        List<Rule> out = new ArrayList<>();
        for (String t : texts) {
            out.add(parse(t));
        }
        requireConsistent(out);
        return List.copyOf(out);
    }

    /** Refuses a list where a record would be both pinned to legacy and sent to new by rules of the same kind, or a rule given twice. */
    public static void requireConsistent(List<Rule> rules) {
        for (int i = 0; i < rules.size(); i++) {
            for (int j = i + 1; j < rules.size(); j++) {
                Rule a = rules.get(i);
                Rule b = rules.get(j);
                if (a.equals(b)) {
                    throw new UserException("rule '" + a.spec() + "' is given twice");
                }
                String overlap = a.overlap(b);
                if (overlap != null && a.to != b.to) {
                    throw new UserException("rules '" + a.spec() + "' and '" + b.spec() + "' contradict each other: " + overlap
                            + " would be pinned to legacy and sent to new");
                }
            }
        }
    }

    /** A value both rules match, described for people, or null when they cannot match the same record by the same field. */
    private String overlap(Rule o) {
        if (match == Match.HEADER || o.match == Match.HEADER) {
            if (match != o.match || !header.equals(o.header)) {
                return null;
            }
            return values.stream().filter(o.values::contains).findFirst().map(v -> "header " + header + "=" + v).orElse(null);
        }
        for (String a : values) {
            for (String b : o.values) {
                boolean hit = match == Match.KEY && o.match == Match.KEY ? a.equals(b)
                        : match == Match.KEY ? a.startsWith(b)
                        : o.match == Match.KEY ? b.startsWith(a)
                        : a.startsWith(b) || b.startsWith(a);
                if (hit) {
                    return match == Match.KEY ? "key " + a : o.match == Match.KEY ? "key " + b : "a key starting with "
                            + (a.length() >= b.length() ? a : b);
                }
            }
        }
        return null;
    }

    /** The rule as it is written: {@code header:tenant=beta}, {@code legacy:key-prefix:vip-}. */
    @JsonIgnore
    public String spec() {
        String m = match == Match.HEADER ? "header:" + header + "=" : match.word() + ":";
        return (to == Role.LEGACY ? "legacy:" : "") + m + String.join(",", values);
    }

    /** The rule for people: "header tenant = beta -> new". */
    @JsonIgnore
    public String describe() {
        return spec() + " -> " + to;
    }

    /** Whether the rule needs to read a record header. */
    @JsonIgnore
    public boolean readsHeader() {
        return match == Match.HEADER;
    }

    /** Whether the rule matches a record with this key and these headers ({@code lastHeader}: a header's last value, or null). */
    public boolean matches(byte[] key, Function<String, byte[]> lastHeader) {
        return compiled().matches(key, lastHeader);
    }

    Compiled compiled() {
        return new Compiled(this);
    }

    /** The rules' specs, for messages and history: "none" when empty. */
    public static String describeAll(List<Rule> rules) {
        return rules == null || rules.isEmpty() ? "none" : String.join(" ", rules.stream().map(Rule::spec).toList());
    }

    /** A rule with its values as bytes, for deciding millions of records. */
    static final class Compiled {
        final Role to;
        final Match match;
        final String header;
        final byte[][] values;

        Compiled(Rule r) {
            this.to = r.to;
            this.match = r.match;
            this.header = r.header;
            this.values = r.values.stream().map(v -> v.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
        }

        boolean matches(byte[] key, Function<String, byte[]> lastHeader) {
            byte[] field = match == Match.HEADER ? lastHeader.apply(header) : key;
            if (field == null) {
                return false;
            }
            for (byte[] v : values) {
                if (match == Match.KEY_PREFIX ? startsWith(field, v) : Arrays.equals(field, v)) {
                    return true;
                }
            }
            return false;
        }

        private static boolean startsWith(byte[] field, byte[] prefix) {
            return field.length >= prefix.length && Arrays.equals(field, 0, prefix.length, prefix, 0, prefix.length);
        }
    }

    private static UserException bad(String text, String why) {
        return new UserException("invalid rule '" + text + "': " + why);
    }
}
