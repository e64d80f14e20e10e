package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.UserException;
import canary.context.Context;
import canary.context.Role;
import canary.context.Route;
import canary.context.Routing;
import canary.context.Rule;

/** Match rules (parsing, validation, matching, precedence) and whole-partition routing, without a broker. */
@Tag("fast")
class RulesTest {

    static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    /** A record's headers: the last value of each name. */
    static Function<String, byte[]> headers(String... nameValue) {
        Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            m.put(nameValue[i], nameValue[i + 1]);
        }
        return name -> utf8(m.get(name));
    }

    static final Function<String, byte[]> NO_HEADERS = name -> null;

    static String refusal(String spec) {
        UserException e = assertThrows(UserException.class, () -> Rule.parse(spec), spec);
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("invalid rule '" + spec + "': "), e.getMessage());
        return e.getMessage();
    }

    @Nested
    class Written_as_operators_write_them {

        @Test
        void each_kind_parses_to_a_typed_rule_and_prints_back_the_same() {
            Rule h = Rule.parse("header:tenant=beta,internal");
            assertEquals(new Rule(Role.NEW, Rule.Match.HEADER, "tenant", List.of("beta", "internal")), h);
            assertEquals(new Rule(Role.NEW, Rule.Match.KEY, null, List.of("acct-42", "acct-43")), Rule.parse("key:acct-42,acct-43"));
            assertEquals(new Rule(Role.LEGACY, Rule.Match.KEY_PREFIX, null, List.of("vip-")), Rule.parse("legacy:key-prefix:vip-"));
            assertEquals(Rule.parse("header:tenant=beta"), Rule.parse("new:header:tenant=beta"), "new: is the default");
            for (String spec : List.of("header:tenant=beta,internal", "key:acct-42", "legacy:key-prefix:vip-,gold-", "header:x-id=a=b")) {
                assertEquals(spec, Rule.parse(spec).spec());
            }
            assertEquals("header:x-id=a=b", Rule.parse(" header: x-id = a=b ").spec(), "only the first = separates the name; blanks trimmed");
            assertEquals("legacy:key-prefix:vip- -> legacy", Rule.parse("legacy:key-prefix:vip-").describe());
        }

        @Test
        void each_mistake_is_one_line_saying_what_is_expected() {
            assertTrue(refusal("").contains("expected header:NAME=VALUE"));
            assertTrue(refusal("tenant=beta").contains("expected header:NAME=VALUE"));
            assertTrue(refusal("hdr:tenant=beta").contains("unknown match 'hdr'"));
            assertTrue(refusal("header:tenant").contains("a header rule needs a name and values"));
            assertTrue(refusal("header:=beta").contains("the header name is empty"));
            assertTrue(refusal("header:tenant=").contains("an empty value"));
            assertTrue(refusal("key:a,,b").contains("an empty value"));
            assertTrue(refusal("key-prefix:").contains("an empty prefix would match every record"));
            assertTrue(refusal("key:a,a").contains("a value is given twice"));
            assertTrue(refusal("legacy:").contains("expected header:NAME=VALUE"));
        }

        @Test
        void contradictions_and_repeats_are_refused_in_one_line() {
            UserException both = assertThrows(UserException.class,
                    () -> Rule.parseAll(List.of("header:tenant=beta", "legacy:header:tenant=gamma,beta")));
            assertEquals("rules 'header:tenant=beta' and 'legacy:header:tenant=gamma,beta' contradict each other: header tenant=beta"
                    + " would be pinned to legacy and sent to new", both.getMessage());
            assertTrue(assertThrows(UserException.class, () -> Rule.parseAll(List.of("key:vip-1", "legacy:key-prefix:vip-")))
                    .getMessage().contains("key vip-1 would be pinned to legacy"));
            assertTrue(assertThrows(UserException.class, () -> Rule.parseAll(List.of("key-prefix:test-", "legacy:key-prefix:test-eu-")))
                    .getMessage().contains("a key starting with test-eu-"));
            assertTrue(assertThrows(UserException.class, () -> Rule.parseAll(List.of("key:a", "key:a")))
                    .getMessage().contains("rule 'key:a' is given twice"));
            // Different fields cannot be compared: both rules stand, and the pin wins on a record both match.
            assertEquals(2, Rule.parseAll(List.of("header:tenant=beta", "legacy:key-prefix:vip-")).size());
            assertEquals(2, Rule.parseAll(List.of("header:tenant=beta", "legacy:header:region=eu")).size());
        }
    }

    @Nested
    class Deciding_a_record {

        @Test
        void a_header_rule_reads_the_value_of_the_named_header() {
            Rule r = Rule.parse("header:tenant=beta,internal");
            assertTrue(r.matches(utf8("k"), headers("tenant", "beta")));
            assertTrue(r.matches(null, headers("tenant", "internal")), "a null key does not matter to a header rule");
            assertFalse(r.matches(utf8("k"), headers("tenant", "Beta")), "values compare exactly");
            assertFalse(r.matches(utf8("k"), headers("Tenant", "beta")), "names compare exactly");
            assertFalse(r.matches(utf8("beta"), NO_HEADERS));
        }

        @Test
        void key_rules_compare_the_key_as_utf8_and_never_match_a_null_key() {
            Rule key = Rule.parse("key:acct-42,ünïcode");
            assertTrue(key.matches(utf8("acct-42"), NO_HEADERS));
            assertTrue(key.matches(utf8("ünïcode"), NO_HEADERS));
            assertFalse(key.matches(utf8("acct-420"), NO_HEADERS));
            assertFalse(key.matches(null, NO_HEADERS));
            Rule prefix = Rule.parse("key-prefix:test-,qa-");
            assertTrue(prefix.matches(utf8("test-1"), NO_HEADERS));
            assertTrue(prefix.matches(utf8("qa-"), NO_HEADERS));
            assertFalse(prefix.matches(utf8("tes"), NO_HEADERS));
            assertFalse(prefix.matches(null, NO_HEADERS));
        }

        @Test
        void rules_come_before_the_share_and_a_legacy_pin_wins_over_a_rule_to_new() {
            List<Rule> rules = Rule.parseAll(List.of("header:tenant=beta", "legacy:key-prefix:vip-"));
            Route atZero = new Route(Routing.RANDOM, 0.0, null, rules);
            Route atAll = new Route(Routing.KEY_HASH, 1.0, null, rules);
            for (int i = 0; i < 200; i++) {
                assertTrue(atZero.toNew(i % 6, utf8("c-" + i), headers("tenant", "beta")), "beta goes to new at share 0");
                assertFalse(atZero.toNew(i % 6, utf8("c-" + i), headers("tenant", "alpha")), "the rest follows the share");
                assertFalse(atZero.toNew(i % 6, utf8("vip-" + i), headers("tenant", "beta")), "the pin wins over the rule to new");
                assertFalse(atAll.toNew(i % 6, utf8("vip-" + i), NO_HEADERS), "a pin holds at share 100 %");
                assertTrue(atAll.toNew(i % 6, utf8("c-" + i), NO_HEADERS));
            }
        }
    }

    @Nested
    class Whole_partitions {

        @Test
        void the_share_picks_the_first_ceil_share_times_partitions() {
            assertEquals(List.of(), Routing.firstPartitions(0.0, 6));
            assertEquals(List.of(0), Routing.firstPartitions(0.01, 6));
            assertEquals(List.of(0, 1), Routing.firstPartitions(1.0 / 3, 6));
            assertEquals(List.of(0, 1), Routing.firstPartitions(0.3333, 6), "float error below a whole partition does not add one");
            assertEquals(List.of(0, 1, 2), Routing.firstPartitions(0.34, 6));
            assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), Routing.firstPartitions(0.7, 10), "0.7 x 10 is 7 partitions, not 8");
            assertEquals(List.of(0, 1, 2, 3, 4, 5), Routing.firstPartitions(1.0, 6));
        }

        @Test
        void raising_the_share_only_adds_partitions() {
            for (int partitions = 1; partitions <= 24; partitions++) {
                List<Integer> before = List.of();
                for (int pct = 0; pct <= 100; pct++) {
                    List<Integer> now = Routing.firstPartitions(pct / 100.0, partitions);
                    assertTrue(now.containsAll(before), partitions + " partitions at " + pct + " %: " + before + " -> " + now);
                    before = now;
                }
                assertEquals(partitions, before.size());
            }
        }

        @Test
        void a_partition_list_is_read_as_operators_write_it() {
            assertEquals(List.of(0, 1, 4), Routing.parsePartitions("4, 0,1"));
            assertEquals(List.of(0, 1, 2, 3, 5), Routing.parsePartitions("0-3,5,2"));
            for (String bad : List.of("", "a", "1,,2", "3-1", "-1", "1.5")) {
                UserException e = assertThrows(UserException.class, () -> Routing.parsePartitions(bad), bad);
                assertTrue(e.getMessage().startsWith("invalid partitions '" + bad + "': "), e.getMessage());
            }
            UserException outside = assertThrows(UserException.class, () -> Routing.requireWithin(List.of(0, 6), 6, "orders"));
            assertEquals("partition 6 is not a partition of orders (it has 6: 0 to 5)", outside.getMessage());
        }

        @Test
        void a_record_goes_to_new_exactly_when_its_partition_is_one_of_the_new_versions() {
            Route r = new Route(Routing.PARTITIONS, 2.0 / 6, List.of(0, 1), List.of());
            for (int i = 0; i < 100; i++) {
                for (int p = 0; p < 6; p++) {
                    assertEquals(p < 2, r.toNew(p, utf8("k" + i), NO_HEADERS), "partition " + p);
                }
            }
            assertFalse(new Route(Routing.PARTITIONS, 0.0, List.of(), List.of()).toNew(0, utf8("k"), NO_HEADERS));
            assertTrue(Routing.PARTITIONS.drainsOnShareChange(), "a partition changes version only after a drain");
        }
    }

    @Nested
    class In_the_context_file {

        @TempDir
        Path dir;

        Context load(String extra) throws IOException {
            Path f = dir.resolve("ctx.yaml");
            Files.writeString(f, ContextTest.VALID + extra);
            return Context.load(f, Map.<String, String>of()::get);
        }

        String rejected(String extra) {
            Context.ContextException e = assertThrows(Context.ContextException.class, () -> load(extra));
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            return e.getMessage();
        }

        @Test
        void rules_are_the_ones_a_migration_starts_with() throws IOException {
            Context ctx = load("rules:\n  - header:tenant=beta\n  - legacy:key-prefix:vip-\n");
            assertEquals(List.of(Rule.parse("header:tenant=beta"), Rule.parse("legacy:key-prefix:vip-")), ctx.rules());
            assertEquals(List.of(), load("").rules());
            assertEquals(Routing.PARTITIONS, load("routing: partitions\n").routing());
        }

        @Test
        void a_bad_rule_names_the_file_the_key_and_the_mistake() {
            assertTrue(rejected("rules: header:tenant=beta\n").contains("key 'rules': expected a list of rules"));
            assertTrue(rejected("rules:\n  - {header: tenant}\n").contains("key 'rules[0]': expected a rule, header:NAME=VALUE"));
            assertTrue(rejected("rules:\n  - header:tenant\n").endsWith("key 'rules': invalid rule 'header:tenant': a header rule needs a name"
                    + " and values: header:NAME=VALUE[,VALUE...]"));
            assertTrue(rejected("rules:\n  - key:a\n  - legacy:key:a\n").contains("contradict each other"));
            assertTrue(rejected("routing: partitions\nrules:\n  - key:a\n").contains("rules and routing partitions exclude each other"));
            assertTrue(rejected("routing: tenants\n").contains("key 'routing': expected one of random, key-hash, partitions, got tenants"));
        }
    }
}
