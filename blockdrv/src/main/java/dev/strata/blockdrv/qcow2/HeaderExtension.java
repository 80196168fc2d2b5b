package dev.strata.blockdrv.qcow2;

/**
 * One header extension as stored in cluster 0: its type and payload (without the padding).
 * Extensions the driver does not understand are kept as these and written back verbatim.
 */
record HeaderExtension(int type, byte[] data) {
}
