package dev.strata.harness.guest;

/**
 * A region of guest memory the guest owns: where request data lives. Addresses are guest-physical.
 *
 * @param address first byte
 * @param length  size in bytes
 */
public record GuestBuffer(long address, int length) {

    public GuestBuffer {
        if (address < 0 || length < 0) {
            throw new IllegalArgumentException("bad guest buffer " + address + "+" + length);
        }
    }

    /** The first {@code len} bytes of this buffer, starting {@code offset} bytes in. */
    public GuestBuffer slice(int offset, int len) {
        if (offset < 0 || len < 0 || offset + len > length) {
            throw new IllegalArgumentException("slice " + offset + "+" + len + " outside buffer of " + length);
        }
        return new GuestBuffer(address + offset, len);
    }
}
