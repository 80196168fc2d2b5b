package dev.strata.blockdrv;

/** QEMU's rule for user-chosen ids and node names: a letter, then letters, digits, '-', '.', '_'. */
public final class NodeNames {

    private NodeNames() {
    }

    public static boolean wellFormed(String id) {
        if (id == null || id.isEmpty() || !Character.isLetter(id.charAt(0)) || id.charAt(0) > 0x7f) {
            return false;
        }
        for (int i = 1; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!(c < 0x80 && (Character.isLetterOrDigit(c) || c == '-' || c == '.' || c == '_'))) {
                return false;
            }
        }
        return id.length() <= 127;
    }

    static void check(String nodeName) {
        if (!wellFormed(nodeName)) {
            throw BlockException.invalid("Invalid node-name: '" + nodeName + "'");
        }
    }
}
