package canary.context;

import java.math.BigDecimal;

import canary.common.UserException;

/** The share of records routed to the new version: {@code 0.9}, {@code .9} and {@code 90%} all mean 90 %. */
public final class Share {

    private Share() {
    }

    public static double parse(String text) {
        String t = text == null ? "" : text.trim();
        boolean percent = t.endsWith("%");
        String number = percent ? t.substring(0, t.length() - 1).trim() : t;
        BigDecimal v;
        try {
            if (!number.matches("[0-9]*\\.?[0-9]+|[0-9]+\\.")) {
                throw new NumberFormatException();
            }
            v = new BigDecimal(number);
        } catch (NumberFormatException e) {
            throw new UserException("invalid share '" + text + "': expected a number from 0 to 1 (0.9, .9) or a percentage (90%)");
        }
        if (percent) {
            v = v.movePointLeft(2);
        }
        if (v.compareTo(BigDecimal.ZERO) < 0 || v.compareTo(BigDecimal.ONE) > 0) {
            throw new UserException("invalid share '" + text + "': it must be between 0 and 1 (0 % to 100 %)");
        }
        return v.doubleValue();
    }
}
