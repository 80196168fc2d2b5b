package dev.strata.blockdrv.nbd.tls;

import java.util.List;
import java.util.regex.Pattern;

/**
 * QEMU's {@code authz-list}: rules tried in order, the first match decides; no match means
 * {@code policy} (QEMU's default is deny). A rule's {@code format} is {@code exact} (default) or
 * {@code glob} ({@code *}, {@code ?} and {@code [...]} as fnmatch).
 */
public record AuthzList(String id, boolean allowByDefault, List<Rule> rules) implements Authorizer {

    /** One rule: {@code match}, allow or deny, exact or glob. */
    public record Rule(String match, boolean allow, boolean glob) {

        boolean matches(String identity) {
            return glob ? globPattern(match).matcher(identity).matches() : match.equals(identity);
        }
    }

    public AuthzList {
        rules = List.copyOf(rules);
    }

    @Override
    public boolean allows(String identity) {
        for (Rule r : rules) {
            if (r.matches(identity)) {
                return r.allow();
            }
        }
        return allowByDefault;
    }

    static Pattern globPattern(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                case '[' -> {
                    int end = glob.indexOf(']', i + 1);
                    if (end < 0) {
                        re.append("\\[");
                    } else {
                        String set = glob.substring(i + 1, end);
                        re.append('[').append(set.startsWith("!") ? "^" + Pattern.quote(set.substring(1)) : Pattern.quote(set)).append(']');
                        i = end;
                    }
                }
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }
}
