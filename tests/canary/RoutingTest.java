package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import canary.common.UserException;
import canary.context.Routing;
import canary.context.Share;

@Tag("fast")
class RoutingTest {

    static byte[] key(int i) {
        return ("customer-" + i).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void key_hash_keeps_each_key_on_one_version_at_a_fixed_share() {
        for (int i = 0; i < 2000; i++) {
            boolean first = Routing.KEY_HASH.toNew(key(i), 0.3);
            for (int n = 0; n < 5; n++) {
                assertEquals(first, Routing.KEY_HASH.toNew(key(i), 0.3), "key " + i);
            }
        }
    }

    @Test
    void key_hash_only_moves_keys_from_legacy_to_new_when_the_share_rises() {
        double[] shares = {0.0, 0.1, 0.25, 0.5, 0.9, 1.0};
        int moved = 0;
        for (int i = 0; i < 20_000; i++) {
            for (int s = 1; s < shares.length; s++) {
                boolean before = Routing.KEY_HASH.toNew(key(i), shares[s - 1]);
                boolean after = Routing.KEY_HASH.toNew(key(i), shares[s]);
                assertFalse(before && !after, "key " + i + " moved back to legacy at share " + shares[s]);
                if (!before && after) {
                    moved++;
                }
            }
        }
        assertEquals(20_000, moved, "every key moves to new exactly once between share 0 and 1");
    }

    @Test
    void key_hash_share_is_close_to_the_requested_one() {
        int toNew = 0;
        for (int i = 0; i < 20_000; i++) {
            if (Routing.KEY_HASH.toNew(key(i), 0.25)) {
                toNew++;
            }
        }
        assertTrue(Math.abs(toNew / 20_000.0 - 0.25) <= 0.02, "observed " + toNew / 20_000.0);
    }

    @Test
    void null_keys_fall_back_to_random_and_the_ends_are_exact() {
        int toNew = 0;
        for (int i = 0; i < 20_000; i++) {
            if (Routing.KEY_HASH.toNew(null, 0.5)) {
                toNew++;
            }
        }
        assertTrue(Math.abs(toNew / 20_000.0 - 0.5) <= 0.02, "observed " + toNew / 20_000.0);
        for (int i = 0; i < 1000; i++) {
            assertFalse(Routing.RANDOM.toNew(key(i), 0.0));
            assertTrue(Routing.RANDOM.toNew(key(i), 1.0));
            assertFalse(Routing.KEY_HASH.toNew(key(i), 0.0));
            assertTrue(Routing.KEY_HASH.toNew(key(i), 1.0));
        }
    }

    @Test
    void shares_are_read_as_operators_write_them() {
        assertEquals(0.9, Share.parse("0.9"));
        assertEquals(0.9, Share.parse(".9"));
        assertEquals(0.9, Share.parse("90%"));
        assertEquals(1.0, Share.parse("1"));
        assertEquals(0.0, Share.parse("0"));
        assertEquals(0.125, Share.parse("12.5%"));
        for (String bad : new String[]{"1.1", "-0.1", "abc", "", "150%", "0.5.5", "NaN", "1e-1", "-5%"}) {
            UserException e = assertThrows(UserException.class, () -> Share.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("invalid share '" + bad + "'"), e.getMessage());
        }
    }
}
