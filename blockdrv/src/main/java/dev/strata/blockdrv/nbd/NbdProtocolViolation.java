package dev.strata.blockdrv.nbd;

/**
 * A client broke the protocol in a way that leaves no reply to give (bad magic, unknown client
 * flags, an oversized payload): the connection is closed and the message logged as one line.
 */
final class NbdProtocolViolation extends RuntimeException {

    NbdProtocolViolation(String message) {
        super(message, null, false, false);
    }
}
