package dev.strata.device.virtio;

import dev.strata.device.GuestMemory;

/** Writes descriptor tables by hand, the way a (possibly hostile) driver would. */
final class Chains {

    static final int R = 0;
    static final int W = VirtioSpec.VIRTQ_DESC_F_WRITE;
    static final int N = VirtioSpec.VIRTQ_DESC_F_NEXT;

    private Chains() {
    }

    static void desc(GuestMemory m, long table, int i, long addr, long len, int flags, int next) {
        long at = table + (long) i * VirtioSpec.DESC_SIZE;
        m.putLong(at, addr);
        m.putInt(at + 8, (int) len);
        m.putShort(at + 12, (short) flags);
        m.putShort(at + 14, (short) next);
    }

    static void header(GuestMemory m, long addr, int type, long sector) {
        m.putInt(addr, type);
        m.putInt(addr + 4, 0);
        m.putLong(addr + 8, sector);
    }

    /** header at hdr, optional data descriptor, status: a Linux-style chain starting at head. */
    static void chain(GuestMemory m, long table, int head, long hdr, long data, long dataLen, boolean deviceWrites,
                      long status) {
        if (dataLen >= 0) {
            desc(m, table, head, hdr, 16, N, head + 1);
            desc(m, table, head + 1, data, dataLen, N | (deviceWrites ? W : R), head + 2);
            desc(m, table, head + 2, status, 1, W, 0);
        } else {
            desc(m, table, head, hdr, 16, N, head + 1);
            desc(m, table, head + 1, status, 1, W, 0);
        }
    }
}
