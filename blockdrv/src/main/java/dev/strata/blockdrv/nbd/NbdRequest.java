package dev.strata.blockdrv.nbd;

import java.nio.ByteBuffer;

/**
 * One transmission request as read off the wire; immutable except that the payload buffer is
 * consumed by the command.
 *
 * @param length  the unsigned 32-bit length
 * @param payload a WRITE's data (pooled), else null
 */
record NbdRequest(int flags, int type, long cookie, long offset, long length, ByteBuffer payload) {

    /** The byte after the range, or -1 when offset + length overflows (an offset past any end). */
    long end() {
        long e = offset + length;
        return offset < 0 || e < 0 ? -1 : e;
    }

    String describe() {
        return NbdProtocol.commandName(type) + " offset " + Long.toUnsignedString(offset) + " length " + length;
    }
}
