package dev.strata.device;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The guest's physical memory: one off-heap region addressed from 0, little-endian as virtio and
 * ATA structures are. Devices read descriptors and move data through it; the guest driver builds
 * requests in it.
 *
 * <p>Every accessor is bounds-checked and fails with {@link IllegalArgumentException} on an
 * address outside the region, so a bug never touches foreign memory. Devices check guest-supplied
 * addresses with {@link #contains} first and turn a bad address into a request status, never an
 * exception (guest input is not trusted).
 *
 * <p>Thread safety: any thread may call any method. The memory has no lock, exactly like RAM:
 * who may touch which bytes when is the ring protocol's business (a buffer belongs to the device
 * from publish to completion). Absolute accessors never move a shared position, so concurrent use
 * is safe; {@link #view()} hands out a private cursor for bulk transfers.
 */
public final class GuestMemory {

    private final ByteBuffer ram;
    private final long size;

    private GuestMemory(ByteBuffer ram) {
        this.ram = ram.order(ByteOrder.LITTLE_ENDIAN);
        this.size = ram.capacity();
    }

    /** Allocates {@code bytes} of zeroed off-heap memory (at most 2 GiB - 1, a ByteBuffer's limit). */
    public static GuestMemory allocate(long bytes) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("guest memory size must be 1 byte .. 2 GiB-1, not " + bytes);
        }
        return new GuestMemory(ByteBuffer.allocateDirect((int) bytes));
    }

    public long size() {
        return size;
    }

    /** True if {@code [addr, addr+len)} lies inside guest memory; overflow-safe for any inputs. */
    public boolean contains(long addr, long len) {
        return addr >= 0 && len >= 0 && addr <= size && len <= size - addr;
    }

    private int check(long addr, long len) {
        if (!contains(addr, len)) {
            throw new IllegalArgumentException("guest address 0x" + Long.toHexString(addr) + "+" + len
                    + " outside guest memory of " + size + " bytes");
        }
        return (int) addr;
    }

    public byte getByte(long addr) {
        return ram.get(check(addr, 1));
    }

    public void putByte(long addr, byte v) {
        ram.put(check(addr, 1), v);
    }

    public short getShort(long addr) {
        return ram.getShort(check(addr, 2));
    }

    public void putShort(long addr, short v) {
        ram.putShort(check(addr, 2), v);
    }

    public int getInt(long addr) {
        return ram.getInt(check(addr, 4));
    }

    public void putInt(long addr, int v) {
        ram.putInt(check(addr, 4), v);
    }

    public long getLong(long addr) {
        return ram.getLong(check(addr, 8));
    }

    public void putLong(long addr, long v) {
        ram.putLong(check(addr, 8), v);
    }

    /** Copies {@code dst.length} bytes from guest memory at {@code addr}. */
    public void read(long addr, byte[] dst) {
        ram.get(check(addr, dst.length), dst);
    }

    /** Copies {@code src} into guest memory at {@code addr}. */
    public void write(long addr, byte[] src) {
        ram.put(check(addr, src.length), src);
    }

    /** Fills {@code [addr, addr+len)} with {@code value}. */
    public void fill(long addr, int len, byte value) {
        int a = check(addr, len);
        for (int i = 0; i < len; i++) {
            ram.put(a + i, value);
        }
    }

    /**
     * A private cursor over the whole memory (little-endian) for bulk I/O: position it with
     * {@link #window}. Devices keep one per in-flight request slot so the data path allocates
     * nothing per request.
     */
    public ByteBuffer view() {
        return ram.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Narrows {@code view} (from {@link #view()}) to {@code [addr, addr+len)} and returns it.
     *
     * @throws IllegalArgumentException if the range is outside guest memory
     */
    public ByteBuffer window(ByteBuffer view, long addr, int len) {
        int a = check(addr, len);
        view.clear();
        view.limit(a + len).position(a);
        return view;
    }

    /** A fresh buffer over {@code [addr, addr+len)} (allocates; for set-up and tests, not data paths). */
    public ByteBuffer slice(long addr, int len) {
        return window(view(), addr, len);
    }
}
