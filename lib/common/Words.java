package canary.common;

import java.util.Optional;
import java.util.function.Function;

/** The words the kit's enums are written as in files, the state and the output ("key-hash", "rolling-back"). */
public final class Words {

    private Words() {
    }

    /** The value of {@code values} whose word is {@code text}, if any. */
    public static <E> Optional<E> find(E[] values, Function<E, String> word, String text) {
        for (E v : values) {
            if (word.apply(v).equals(text)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
