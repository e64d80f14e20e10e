package canary.context;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import canary.common.Words;

/** The two versions of the service in a release. */
public enum Role {
    /** The version that owns the original topic before the release. */
    LEGACY("legacy"),
    /** The version being released. */
    NEW("new");

    private final String word;

    Role(String word) {
        this.word = word;
    }

    @JsonValue
    public String word() {
        return word;
    }

    @JsonCreator
    public static Role of(String word) {
        return Words.find(values(), Role::word, word)
                .orElseThrow(() -> new IllegalArgumentException("unknown role '" + word + "': expected legacy or new"));
    }

    public Role other() {
        return this == LEGACY ? NEW : LEGACY;
    }

    @Override
    public String toString() {
        return word;
    }
}
